"""Each user's language for the mail TAPWORK sends them (issue 14).

`en` or `es`, `en` for everyone who exists today. A CHECK, not an enum type: adding a language
is then one constraint swap, not an `ALTER TYPE` that cannot run in a transaction.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column(
        "users",
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
    )
    op.create_check_constraint("language", "users", "language IN ('en', 'es')")


def downgrade() -> None:
    op.drop_constraint("language", "users", type_="check")
    op.drop_column("users", "language")
