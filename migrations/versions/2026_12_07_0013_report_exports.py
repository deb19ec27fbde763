"""Report exports (issue 13): large reports computed by the worker, with progress, and their
files stored in PostgreSQL in chunks so that every API replica can serve them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_exports",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("layout", sa.String(8), server_default="generic", nullable=False),
        sa.Column("lang", sa.String(2), server_default="en", nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=True),
        sa.Column("employee_id", sa.UUID(), nullable=True),
        sa.Column("location_id", sa.UUID(), nullable=True),
        sa.Column("record_status", sa.String(16), nullable=True),
        sa.Column("status", sa.String(8), server_default="queued", nullable=False),
        sa.Column("progress_done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('attendance', 'department-summary', 'timesheet', 'monthly-sheet')",
            name=op.f("ck_report_exports_kind"),
        ),
        sa.CheckConstraint(
            "format IN ('json', 'csv', 'xlsx', 'pdf')", name=op.f("ck_report_exports_format")
        ),
        sa.CheckConstraint(
            "layout IN ('generic', 'gusto', 'datev')", name=op.f("ck_report_exports_layout")
        ),
        sa.CheckConstraint("lang IN ('en', 'es')", name=op.f("ck_report_exports_lang")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed', 'expired')",
            name=op.f("ck_report_exports_status"),
        ),
        sa.CheckConstraint("from_date <= to_date", name=op.f("ck_report_exports_range")),
        sa.CheckConstraint(
            "progress_done >= 0 AND progress_total >= 0 AND rows >= 0 AND size_bytes >= 0",
            name=op.f("ck_report_exports_counts"),
        ),
        sa.CheckConstraint(
            "status <> 'done' OR (finished_at IS NOT NULL AND expires_at IS NOT NULL "
            "AND size_bytes IS NOT NULL)",
            name=op.f("ck_report_exports_done"),
        ),
        sa.CheckConstraint(
            "status <> 'failed' OR error_code IS NOT NULL", name=op.f("ck_report_exports_failed")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_report_exports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_report_exports_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["users.id"],
            name=op.f("fk_report_exports_employee_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_report_exports_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_exports")),
    )
    op.create_index(
        "ix_report_exports_user_id_created_at", "report_exports", ["user_id", "created_at"]
    )
    op.create_index(op.f("ix_report_exports_employee_id"), "report_exports", ["employee_id"])
    op.create_index(op.f("ix_report_exports_department_id"), "report_exports", ["department_id"])
    op.create_index(op.f("ix_report_exports_location_id"), "report_exports", ["location_id"])
    # The housekeeping job's two questions: what is unfinished, what has expired.
    op.create_index(
        "ix_report_exports_unfinished", "report_exports", ["created_at"],
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )  # fmt: skip
    op.create_index("ix_report_exports_expires_at", "report_exports", ["expires_at"])
    op.create_table(
        "report_export_chunks",
        sa.Column("export_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.BYTEA(), nullable=False),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_report_export_chunks_seq")),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["report_exports.id"],
            name=op.f("fk_report_export_chunks_export_id_report_exports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("export_id", "seq", name=op.f("pk_report_export_chunks")),
    )
    # Stored as is: XLSX and PDF are compressed already, and pglz over a CSV of hundreds of
    # megabytes cost the worker more CPU than the query for files that live a day.
    op.execute("ALTER TABLE report_export_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("report_export_chunks")
    op.drop_index("ix_report_exports_expires_at", table_name="report_exports")
    op.drop_index("ix_report_exports_unfinished", table_name="report_exports")
    op.drop_index(op.f("ix_report_exports_location_id"), table_name="report_exports")
    op.drop_index(op.f("ix_report_exports_department_id"), table_name="report_exports")
    op.drop_index(op.f("ix_report_exports_employee_id"), table_name="report_exports")
    op.drop_index("ix_report_exports_user_id_created_at", table_name="report_exports")
    op.drop_table("report_exports")
