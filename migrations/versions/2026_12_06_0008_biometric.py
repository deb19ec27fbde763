"""Biometrics (issue 16): consents, encrypted face templates, where it is required, the
checks flagged for review, and the face service's outage state (one alert per incident).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:32:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "biometric_service_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("down_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_biometric_service_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biometric_service_state")),
    )
    op.create_table(
        "biometric_requirements",
        sa.Column("location_id", sa.UUID(), nullable=True),
        sa.Column("department_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "num_nonnulls(location_id, department_id) = 1",
            name=op.f("ck_biometric_requirements_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_biometric_requirements_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_biometric_requirements_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biometric_requirements")),
        sa.UniqueConstraint("department_id", name=op.f("uq_biometric_requirements_department_id")),
        sa.UniqueConstraint("location_id", name=op.f("uq_biometric_requirements_location_id")),
    )
    op.create_table(
        "biometric_consents",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("notice_version", sa.String(length=32), nullable=False),
        sa.Column("notice_text", sa.Text(), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.UUID(), nullable=True),
        sa.Column("recorded_by_label", sa.String(length=200), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_biometric_consents_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biometric_consents")),
    )
    op.create_index(
        "uq_biometric_consents_active",
        "biometric_consents",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )
    op.create_table(
        "biometric_checks",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kiosk_id", sa.UUID(), nullable=True),
        sa.Column("record_id", sa.UUID(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("distance", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_status", sa.String(length=16), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('match', 'mismatch', 'unavailable', 'no_image')",
            name=op.f("ck_biometric_checks_outcome"),
        ),
        sa.CheckConstraint(
            "review_status IS NULL OR review_status IN ('pending', 'resolved')",
            name=op.f("ck_biometric_checks_review_status"),
        ),
        sa.ForeignKeyConstraint(
            ["kiosk_id"],
            ["kiosks.id"],
            name=op.f("fk_biometric_checks_kiosk_id_kiosks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["attendance_records.id"],
            name=op.f("fk_biometric_checks_record_id_attendance_records"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_biometric_checks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biometric_checks")),
    )
    op.create_index(
        "ix_biometric_checks_pending",
        "biometric_checks",
        ["checked_at"],
        unique=False,
        postgresql_where=sa.text("review_status = 'pending'"),
    )
    op.create_index(
        "ix_biometric_checks_user", "biometric_checks", ["user_id", "checked_at"], unique=False
    )
    op.create_table(
        "biometric_templates",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("consent_id", sa.UUID(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("images_used", sa.SmallInteger(), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enrolled_by_id", sa.UUID(), nullable=True),
        sa.Column("enrolled_by_label", sa.String(length=200), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "images_used BETWEEN 3 AND 5", name=op.f("ck_biometric_templates_images_used")
        ),
        sa.CheckConstraint(
            "octet_length(nonce) = 12", name=op.f("ck_biometric_templates_nonce_length")
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["biometric_consents.id"],
            name=op.f("fk_biometric_templates_consent_id_biometric_consents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_biometric_templates_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_biometric_templates")),
    )
    op.create_index(
        op.f("ix_biometric_templates_last_used_at"),
        "biometric_templates",
        ["last_used_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_biometric_templates_last_used_at"), table_name="biometric_templates")
    op.drop_table("biometric_templates")
    op.drop_index("ix_biometric_checks_user", table_name="biometric_checks")
    op.drop_index(
        "ix_biometric_checks_pending",
        table_name="biometric_checks",
        postgresql_where=sa.text("review_status = 'pending'"),
    )
    op.drop_table("biometric_checks")
    op.drop_index(
        "uq_biometric_consents_active",
        table_name="biometric_consents",
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )
    op.drop_table("biometric_consents")
    op.drop_table("biometric_requirements")
    op.drop_table("biometric_service_state")
