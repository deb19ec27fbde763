"""Incidents carry a stable `code` and structured `params` (issue 14: every mail in its
reader's language): the admin alert and the portal render them in each admin's language; the
English `subject`/`message` stay for API clients.

Incidents opened before this revision get the code their key implies and what params the key
holds (a job's task); the rest render from their stored English text.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("code", sa.String(length=100), nullable=True))
    op.add_column(
        "incidents",
        sa.Column(
            "params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
    )
    op.execute(
        """
        UPDATE incidents SET
          code = CASE WHEN key LIKE 'job.%' THEN 'job.failed'
                      WHEN key LIKE 'kiosk.silent.%' THEN 'kiosk.silent'
                      ELSE key END,
          params = CASE WHEN key LIKE 'job.%' THEN jsonb_build_object('task', substr(key, 5))
                        ELSE '{}'::jsonb END
        """
    )
    op.alter_column("incidents", "code", nullable=False)


def downgrade() -> None:
    op.drop_column("incidents", "params")
    op.drop_column("incidents", "code")
