"""Kiosk fleet health (issue 14): the offline-queue length each kiosk reports
(`X-Kiosk-Queue`), shown to admins next to last seen and clock offset.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("kiosks", sa.Column("offline_queue", sa.Integer(), nullable=True))
    op.create_check_constraint("offline_queue", "kiosks", "offline_queue >= 0")


def downgrade() -> None:
    op.drop_constraint("offline_queue", "kiosks", type_="check")
    op.drop_column("kiosks", "offline_queue")
