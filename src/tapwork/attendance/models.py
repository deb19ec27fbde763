from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, Timestamps, UUIDPk

RECORD_STATUSES = ("early", "on_time", "late", "non_working_day", "holiday", "unscheduled")
SOURCES = ("online", "offline", "manual")


class AttendanceRecord(UUIDPk, Timestamps, Base):
    __tablename__ = "attendance_records"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    shift_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shifts.id", ondelete="SET NULL"))
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locations.id", ondelete="SET NULL")
    )
    kiosk_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("kiosks.id", ondelete="SET NULL"))
    # The local day the shift belongs to (a night shift belongs to the day it starts).
    work_date: Mapped[date]
    check_in_at: Mapped[datetime]
    check_out_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    minutes_late: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    worked_minutes: Mapped[int | None] = mapped_column(Integer)
    overtime_minutes: Mapped[int | None] = mapped_column(Integer)
    early_leave_minutes: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8), default="online", server_default="online")
    notes: Mapped[str | None] = mapped_column(String(1000))
    # Set by the missing clock-out job; HR clears it by correcting the record.
    missing_checkout_flagged_at: Mapped[datetime | None]

    __table_args__ = (
        # At most ONE open record per user: the database decides check-in races.
        Index(
            "uq_attendance_records_one_open",
            "user_id",
            unique=True,
            postgresql_where=text("check_out_at IS NULL"),
        ),
        # A user's records by date, and the latest one first (the scan's lookup).
        Index("ix_attendance_records_user_latest", "user_id", "work_date", "check_in_at"),
        Index("ix_attendance_records_work_date", "work_date"),
        CheckConstraint(
            "check_out_at IS NULL OR check_out_at >= check_in_at", name="checkout_after_checkin"
        ),
        CheckConstraint(f"status IN {RECORD_STATUSES!r}", name="status"),
        CheckConstraint(f"source IN {SOURCES!r}", name="source"),
        CheckConstraint("minutes_late >= 0", name="minutes_late"),
    )


class ScanEvent(UUIDPk, Base):
    """Every scan attempt with its outcome. (kiosk, client scan id) is unique: a retried scan
    returns the stored answer instead of acting twice."""

    __tablename__ = "scan_events"

    kiosk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("kiosks.id", ondelete="CASCADE"))
    client_scan_id: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the request payload: the same id with another payload is refused.
    payload_hash: Mapped[str] = mapped_column(String(64))
    code_data: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    badge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("badges.id", ondelete="SET NULL"))
    record_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("attendance_records.id", ondelete="SET NULL")
    )
    # check_in | check_out | duplicate | rejected | held (offline scan kept for HR review)
    result: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    captured_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # For held scans: pending until HR approves (applied) or rejects it.
    review_status: Mapped[str | None] = mapped_column(String(16))
    reviewed_by: Mapped[uuid.UUID | None]
    reviewed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("kiosk_id", "client_scan_id", name="uq_scan_events_kiosk_scan_id"),
        Index("ix_scan_events_user_received", "user_id", "received_at"),
        Index(
            "ix_scan_events_review",
            "review_status",
            postgresql_where=text("review_status IS NOT NULL"),
        ),
        CheckConstraint(
            "result IN ('check_in', 'check_out', 'duplicate', 'rejected', 'held')", name="result"
        ),
        CheckConstraint(
            "review_status IS NULL OR review_status IN ('pending', 'approved', 'rejected')",
            name="review_status",
        ),
    )


class AttendanceDigest(Base):
    """A (user, work date) whose daily digest was queued: two sweeps never mail it twice."""

    __tablename__ = "attendance_digests"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    work_date: Mapped[date] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
