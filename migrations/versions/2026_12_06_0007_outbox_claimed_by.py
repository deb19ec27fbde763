"""Who holds a leased mail: `email_outbox.claimed_by`, the key of the advisory lock its
delivery loop holds while it lives. A worker killed mid-batch loses its database session and
so its lock, and the next claim takes its mail back at once instead of after the lease
(`outbox_lease_seconds`, 300 s), which stays as the fallback (docs/notifications.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("email_outbox", sa.Column("claimed_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("email_outbox", "claimed_by")
