"""Scheduled reports and the markers that make periodic mail "once" a database rule."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, Timestamps, UUIDPk

SCHEDULE_KINDS = ("attendance", "department-summary", "timesheet", "monthly-sheet")
SCHEDULE_FORMATS = ("xlsx", "pdf", "csv")
FREQUENCIES = ("weekly", "monthly")


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
