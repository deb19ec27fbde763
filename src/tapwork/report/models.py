"""Scheduled reports and the markers that make periodic mail "once" a database rule."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import BYTEA
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, Timestamps, UUIDPk

SCHEDULE_KINDS = ("attendance", "department-summary", "timesheet", "monthly-sheet")
SCHEDULE_FORMATS = ("xlsx", "pdf", "csv")
FREQUENCIES = ("weekly", "monthly")
EXPORT_FORMATS = ("json", "csv", "xlsx", "pdf")
EXPORT_LAYOUTS = ("generic", "gusto", "datev")
EXPORT_STATUSES = ("queued", "running", "done", "failed", "expired")


class ReportSchedule(UUIDPk, Timestamps, Base):
    """A report mailed after each finished week or month to its recipients, each copy computed
    with that recipient's permissions."""

    __tablename__ = "report_schedules"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8))
    frequency: Mapped[str] = mapped_column(String(8))
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE")
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE")
    )
    employee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )

    __table_args__ = (
        CheckConstraint(f"kind IN {SCHEDULE_KINDS!r}", name="kind"),
        CheckConstraint(f"format IN {SCHEDULE_FORMATS!r}", name="format"),
        CheckConstraint(f"frequency IN {FREQUENCIES!r}", name="frequency"),
    )


class ReportScheduleRecipient(Base):
    """Who receives a schedule's report (a user: their permissions decide their copy)."""

    __tablename__ = "report_schedule_recipients"

    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("report_schedules.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ReportScheduleRun(Base):
    """A (schedule, period) that was computed: two workers never mail a period twice."""

    __tablename__ = "report_schedule_runs"

    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("report_schedules.id", ondelete="CASCADE"), primary_key=True
    )
    period_start: Mapped[date] = mapped_column(primary_key=True)
    period_end: Mapped[date]
    mailed: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WeeklySummary(Base):
    """A (user, week) whose `weekly_summary` was handled (mailed, opted out or empty)."""

    __tablename__ = "weekly_summaries"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    week_start: Mapped[date] = mapped_column(primary_key=True)
    mailed: Mapped[bool] = mapped_column(default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ReportExport(UUIDPk, Base):
    """A report computed by the worker (`report.export`) for its owner, with the owner's
    permissions at the time it runs; its file lives in `report_export_chunks` until it expires.

    Progress is `progress_done` of `progress_total`: data rows for CSV, stages for the others.
    `heartbeat_at` moves with the progress: an unfinished export whose heartbeat stopped is
    failed by the housekeeping job (report/exports.py).
    """

    __tablename__ = "report_exports"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8))
    layout: Mapped[str] = mapped_column(String(8), server_default="generic")
    lang: Mapped[str] = mapped_column(String(2), server_default="en")
    from_date: Mapped[date]
    to_date: Mapped[date]
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    employee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), index=True
    )
    # The report's `status` filter (a record status), not the export's.
    record_status: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), server_default="queued")
    progress_done: Mapped[int] = mapped_column(BigInteger, server_default="0")
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)

    __table_args__ = (
        CheckConstraint(f"kind IN {SCHEDULE_KINDS!r}", name="kind"),
        CheckConstraint(f"format IN {EXPORT_FORMATS!r}", name="format"),
        CheckConstraint(f"layout IN {EXPORT_LAYOUTS!r}", name="layout"),
        CheckConstraint("lang IN ('en', 'es')", name="lang"),
        CheckConstraint(f"status IN {EXPORT_STATUSES!r}", name="status"),
        CheckConstraint("from_date <= to_date", name="range"),
        CheckConstraint(
            "progress_done >= 0 AND progress_total >= 0 AND rows >= 0 AND size_bytes >= 0",
            name="counts",
        ),
        CheckConstraint(
            "status <> 'done' OR (finished_at IS NOT NULL AND expires_at IS NOT NULL "
            "AND size_bytes IS NOT NULL)",
            name="done",
        ),
        CheckConstraint("status <> 'failed' OR error_code IS NOT NULL", name="failed"),
        Index("ix_report_exports_user_id_created_at", "user_id", "created_at"),
        Index(
            "ix_report_exports_unfinished",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )


class ReportExportChunk(Base):
    """About a megabyte of an export's file; `seq` orders them from 0."""

    __tablename__ = "report_export_chunks"

    export_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("report_exports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(BYTEA)

    __table_args__ = (CheckConstraint("seq >= 0", name="seq"),)
