from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, UUIDPk


class OutboxEmail(UUIDPk, Base):
    """An email to send, written in the transaction of the change that causes it.

    The template is rendered by the worker at send time from `kind` + `context`, so the business
    transaction (a scan, above all) pays for one INSERT and nothing else.
    """

    __tablename__ = "email_outbox"

    kind: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    context: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    subject: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # A worker that claims a row leases it; a crashed worker's lease expires and another retries.
    locked_until: Mapped[datetime | None]
    # The advisory-lock key of the delivery loop holding the lease (delivery.Owner): once that
    # lock is gone (its worker died), the row is taken back without waiting for the lease.
    claimed_by: Mapped[int | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name="status"),
        Index(
            "ix_email_outbox_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('queued', 'sending')"),
        ),
        Index("ix_email_outbox_status_created", "status", "created_at"),
    )


CONFIRMATION_MODES = ("per_scan", "daily_digest", "off_for_new_users")


class OrganisationSettings(Base):
    """The one row of organisation-wide mail settings (migration 0005 inserts it)."""

    __tablename__ = "organisation_settings"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    # per_scan: a confirmation per scan; daily_digest: one mail a day instead;
    # off_for_new_users: per scan, but users created from now on start with it turned off.
    attendance_confirmations: Mapped[str] = mapped_column(
        String(32), default="per_scan", server_default="per_scan"
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(
            f"attendance_confirmations IN {CONFIRMATION_MODES!r}", name="attendance_confirmations"
        ),
    )


class Incident(UUIDPk, Base):
    """Something admins are alerted about once (`admin_alert`), open until its cause clears."""

    __tablename__ = "incidents"

    # What went wrong, stable across reports: `mail.undeliverable`, `job.<task>`, ...
    key: Mapped[str] = mapped_column(String(200))
    # What kind of problem, whatever its instance (`kiosk.silent` for every kiosk), and the
    # facts its text is written from: rendered in each reader's language (notification/alerts.py).
    code: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    # The same text in English, for API clients.
    subject: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    opened_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        # One open incident per cause: a repeat report while open is not a new incident.
        Index(
            "uq_incidents_open_key", "key", unique=True, postgresql_where=text("closed_at IS NULL")
        ),
        Index("ix_incidents_opened_at", "opened_at"),
    )
