from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, UUIDPk

# no_image: verification was required but the kiosk sent no frame.
CHECK_OUTCOMES = ("match", "mismatch", "unavailable", "no_image")


class BiometricConsent(UUIDPk, Base):
    """An employee's written consent: the exact notice they accepted, when, and who recorded it.

    Kept after withdrawal (with `withdrawn_at`) as the evidence BIPA-style laws ask for; deleted
    with the user. At most one active consent per user.
    """

    __tablename__ = "biometric_consents"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    notice_version: Mapped[str] = mapped_column(String(32))
    notice_text: Mapped[str] = mapped_column(Text)
    given_at: Mapped[datetime]
    recorded_by_id: Mapped[uuid.UUID | None]
    recorded_by_label: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "uq_biometric_consents_active",
            "user_id",
            unique=True,
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )


class BiometricTemplate(Base):
    """One face template per user, AES-GCM encrypted; raw images are never stored.

    `key_id` names the key that sealed it (rotation); the user id is the associated data, so a
    ciphertext moved to another user's row does not decrypt.
    """

    __tablename__ = "biometric_templates"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    consent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("biometric_consents.id", ondelete="CASCADE")
    )
    key_id: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    images_used: Mapped[int] = mapped_column(SmallInteger)
    enrolled_at: Mapped[datetime]
    enrolled_by_id: Mapped[uuid.UUID | None]
    enrolled_by_label: Mapped[str] = mapped_column(String(200))
    # Retention runs from the last successful use (or enrolment).
    last_used_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        CheckConstraint("octet_length(nonce) = 12", name="nonce_length"),
        CheckConstraint("images_used BETWEEN 3 AND 5", name="images_used"),
    )


class BiometricRequirement(UUIDPk, Base):
    """Where verification is required: a location or a department (exactly one of them)."""

    __tablename__ = "biometric_requirements"

    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), unique=True
    )
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), unique=True
    )

    __table_args__ = (
        CheckConstraint("num_nonnulls(location_id, department_id) = 1", name="one_target"),
    )


class BiometricCheck(UUIDPk, Base):
    """The outcome of one verification at a scan. Anything but a match waits for HR review."""

    __tablename__ = "biometric_checks"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kiosk_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("kiosks.id", ondelete="SET NULL"))
    # The scan's own id (scan_events.client_scan_id): one check per scan, however often the
    # kiosk retries it. NULL only for checks filed before it was kept (migration 0011).
    client_scan_id: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("attendance_records.id", ondelete="SET NULL")
    )
    outcome: Mapped[str] = mapped_column(String(16))
    distance: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    checked_at: Mapped[datetime]
    # pending (flagged for HR) | resolved (HR looked, or a retry matched) | NULL (a match)
    review_status: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint(f"outcome IN {CHECK_OUTCOMES!r}", name="outcome"),
        CheckConstraint(
            "review_status IS NULL OR review_status IN ('pending', 'resolved')",
            name="review_status",
        ),
        Index(
            "ix_biometric_checks_pending",
            "checked_at",
            postgresql_where=text("review_status = 'pending'"),
        ),
        Index("ix_biometric_checks_user", "user_id", "checked_at"),
        UniqueConstraint("kiosk_id", "client_scan_id"),
    )
