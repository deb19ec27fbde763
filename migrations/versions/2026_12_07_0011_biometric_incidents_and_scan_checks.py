"""Biometrics: one check per scan, and the face service's outage as a general incident.

`biometric_checks.client_scan_id` with a unique (kiosk_id, client_scan_id): a retried scan
(the kiosk resends the same scan id) gets the first scan's check instead of a second row.
Checks filed before this have no scan id (NULLs do not collide).

`biometric_service_state` goes: the outage alert is now an incident
(`notification/incidents.py`, key `biometric.down`), one mechanism for every "alert admins
once" cause. An outage in progress during the upgrade is simply reported again by the next
failing scan.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "biometric_checks", sa.Column("client_scan_id", sa.String(length=64), nullable=True)
    )
    op.create_unique_constraint(
        op.f("uq_biometric_checks_kiosk_id_client_scan_id"),
        "biometric_checks",
        ["kiosk_id", "client_scan_id"],
    )
    op.drop_table("biometric_service_state")


def downgrade() -> None:
    op.create_table(
        "biometric_service_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("down_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_biometric_service_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biometric_service_state")),
    )
    op.drop_constraint(
        op.f("uq_biometric_checks_kiosk_id_client_scan_id"), "biometric_checks", type_="unique"
    )
    op.drop_column("biometric_checks", "client_scan_id")
