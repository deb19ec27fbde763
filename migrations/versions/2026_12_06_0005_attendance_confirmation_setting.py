"""The organisation's choice for attendance confirmations, and the daily digests sent.

`organisation_settings` is a single row (CHECK id = 1, inserted here) so the scan's read can
pick the setting up with one primary-key probe. `attendance_confirmations`:
`per_scan` (a mail per scan, as before), `daily_digest` (one mail a day per employee instead),
`off_for_new_users` (per scan, but new users start with it off). `attendance_digests` marks
each (user, day) digested, so two sweeps never mail one day twice.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_settings",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column(
            "attendance_confirmations",
            sa.String(length=32),
            server_default="per_scan",
            nullable=False,
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_organisation_settings_single_row")),
        sa.CheckConstraint(
            "attendance_confirmations IN ('per_scan', 'daily_digest', 'off_for_new_users')",
            name=op.f("ck_organisation_settings_attendance_confirmations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_settings")),
    )
    op.execute("INSERT INTO organisation_settings (id) VALUES (1)")
    op.create_table(
        "attendance_digests",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("work_date", sa.Date(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_attendance_digests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "work_date", name=op.f("pk_attendance_digests")),
    )


def downgrade() -> None:
    op.drop_table("attendance_digests")
    op.drop_table("organisation_settings")
