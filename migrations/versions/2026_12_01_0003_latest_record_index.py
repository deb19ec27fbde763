"""A user's latest attendance record in one index probe.

The scan reads each holder's latest record (`ORDER BY work_date DESC, check_in_at DESC
LIMIT 1`). On (user_id, work_date) that read every record of the latest day and sorted them:
one or two on a normal day, but every record of the day for a badge scanned over and over
(a night of test scans, a flood, the benchmark), so the scan's cost grew through the day.
(user_id, work_date, check_in_at) serves the same lookups by user and date and gives the
latest record as the first entry. Built and dropped CONCURRENTLY: scans keep writing
meanwhile. A CONCURRENTLY build that fails leaves an invalid index behind (and the revision
unapplied), so a rerun drops whatever is there under the new name and builds it again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 17:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "attendance_records"


def _swap(create: str, columns: list[str], drop: str) -> None:
    with op.get_context().autocommit_block():
        op.drop_index(create, table_name=TABLE, postgresql_concurrently=True, if_exists=True)
        op.create_index(create, TABLE, columns, postgresql_concurrently=True)
        op.drop_index(drop, table_name=TABLE, postgresql_concurrently=True, if_exists=True)


def upgrade() -> None:
    _swap(
        "ix_attendance_records_user_latest",
        ["user_id", "work_date", "check_in_at"],
        "ix_attendance_records_user_work_date",
    )


def downgrade() -> None:
    _swap(
        "ix_attendance_records_user_work_date",
        ["user_id", "work_date"],
        "ix_attendance_records_user_latest",
    )
