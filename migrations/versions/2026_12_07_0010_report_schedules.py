"""Scheduled reports (issue 13) and the markers that make periodic mail "once".

`report_schedule_runs` (schedule, period start) and `weekly_summaries` (user, week start) are
primary keys: the worker inserts the marker before it computes, so two workers (or a retried
job) never mail a period twice.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "report_schedules",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=True),
        sa.Column("location_id", sa.UUID(), nullable=True),
        sa.Column("employee_id", sa.UUID(), nullable=True),
        _now(),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('attendance', 'department-summary', 'timesheet', 'monthly-sheet')",
            name=op.f("ck_report_schedules_kind"),
        ),
        sa.CheckConstraint(
            "format IN ('xlsx', 'pdf', 'csv')", name=op.f("ck_report_schedules_format")
        ),
        sa.CheckConstraint(
            "frequency IN ('weekly', 'monthly')", name=op.f("ck_report_schedules_frequency")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_report_schedules_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"],
            name=op.f("fk_report_schedules_department_id_departments"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"],
            name=op.f("fk_report_schedules_location_id_locations"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["users.id"], name=op.f("fk_report_schedules_employee_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_schedules")),
    )  # fmt: skip
    op.create_index("ix_report_schedules_owner_id", "report_schedules", ["owner_id"])
    op.create_table(
        "report_schedule_recipients",
        sa.Column("schedule_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["report_schedules.id"],
            name=op.f("fk_report_schedule_recipients_schedule_id_report_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_report_schedule_recipients_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "schedule_id", "user_id", name=op.f("pk_report_schedule_recipients")
        ),
    )  # fmt: skip
    op.create_index(
        "ix_report_schedule_recipients_user_id", "report_schedule_recipients", ["user_id"]
    )
    op.create_table(
        "report_schedule_runs",
        sa.Column("schedule_id", sa.UUID(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("mailed", sa.Integer(), server_default="0", nullable=False),
        _now(),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["report_schedules.id"],
            name=op.f("fk_report_schedule_runs_schedule_id_report_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "schedule_id", "period_start", name=op.f("pk_report_schedule_runs")
        ),
    )  # fmt: skip
    op.create_table(
        "weekly_summaries",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("mailed", sa.Boolean(), server_default="false", nullable=False),
        _now(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_weekly_summaries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "week_start", name=op.f("pk_weekly_summaries")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("weekly_summaries")
    op.drop_table("report_schedule_runs")
    op.drop_index("ix_report_schedule_recipients_user_id", table_name="report_schedule_recipients")
    op.drop_table("report_schedule_recipients")
    op.drop_index("ix_report_schedules_owner_id", table_name="report_schedules")
    op.drop_table("report_schedules")
