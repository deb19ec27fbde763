"""Computing and mailing the scheduled reports whose period has ended.

A period is the last finished Monday-Sunday week (weekly) or calendar month (monthly) whose
end is not before the day the schedule was created. It is over once it is over everywhere:
the worker reads "today" in UTC-12 (the last zone to finish a day), so a week is mailed from
Monday 12:00 UTC. The worker first inserts the (schedule, period) marker in
`report_schedule_runs` (primary key: two workers, or a retried job, never mail a period
twice), then computes one copy per recipient with that recipient's permissions (a supervisor's
copy holds only their departments), in their language, and attaches it to a
`scheduled_report` mail. A copy with no data (no attendance record or held scan in the range
for what the recipient may see) is not sent; neither is one to a recipient who opted out,
was deactivated or lost the permission.
"""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.config import Settings
from tapwork.errors import AppError
from tapwork.notification import service as notification
from tapwork.notification.kinds import Kind
from tapwork.report import labels, queries, render, schedules, service
from tapwork.report.models import ReportSchedule, ReportScheduleRecipient, ReportScheduleRun
from tapwork.report.service import Filters
from tapwork.user.models import User

log = structlog.get_logger("tapwork.report.scheduled")

# The last zone to finish a day is UTC-12.
LAST_ZONE = timedelta(hours=12)
MEDIA = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def last_period(frequency: str, today: date) -> tuple[date, date]:
    """The last finished week (Monday-Sunday) or month before `today`."""
    if frequency == "weekly":
        start = today - timedelta(days=today.weekday() + 7)
        return start, start + timedelta(days=6)
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


async def report_file(
    session: AsyncSession, schedule: ReportSchedule, recipient: User, period: tuple[date, date],
    *, now: datetime, settings: Settings,
) -> bytes | None:  # fmt: skip
    """The recipient's copy, or None when they may not have it or it holds no data."""
    filters = Filters(
        period[0], period[1], schedule.department_id, schedule.employee_id, schedule.location_id
    )
    if not await schedules.may_receive(session, recipient, filters, schedule.kind):
        return None
    scope = await service.resolve(session, schedules.viewer_of(recipient), filters)
    conn = await service.driver_connection(session)
    if await service.count_rows(conn, queries.TIMESHEET, scope, now) == 0:
        return None
    sql = service.sql_for(schedule.kind, filters)
    if schedule.format == "csv":
        return b"".join([chunk async for chunk in service.copy_csv(conn, sql, scope, now)])
    lang: labels.Lang = "es" if recipient.language == "es" else "en"
    meta = render.Meta(schedule.kind, settings.organisation_name, period[0], period[1], now, lang)
    return await service.file_document(conn, sql, scope, now, meta, schedule.format)


async def _claim(
    session: AsyncSession, schedule: ReportSchedule, period: tuple[date, date], now: datetime
) -> bool:
    claimed = await session.scalar(
        insert(ReportScheduleRun)
        .values(
            schedule_id=schedule.id, period_start=period[0], period_end=period[1], created_at=now
        )
        .on_conflict_do_nothing()
        .returning(ReportScheduleRun.schedule_id)
    )
    return claimed is not None


async def send_schedule(
    session: AsyncSession, schedule: ReportSchedule, period: tuple[date, date], *,
    now: datetime, settings: Settings,
) -> int:  # fmt: skip
    """Mail one claimed period to every recipient; returns how many mails were queued."""
    recipients = await session.scalars(
        select(User)
        .join(ReportScheduleRecipient, ReportScheduleRecipient.user_id == User.id)
        .where(ReportScheduleRecipient.schedule_id == schedule.id)
        .order_by(User.id)
    )
    name = f"{schedule.kind}_{period[0].isoformat()}_{period[1].isoformat()}.{schedule.format}"
    queued = 0
    for recipient in recipients.all():
        if not notification.wants(recipient, Kind.SCHEDULED_REPORT):
            continue
        try:
            data = await report_file(session, schedule, recipient, period, now=now,
                                     settings=settings)  # fmt: skip
        except AppError as exc:  # a PDF too long to read, say: the others still get theirs
            log.warning("scheduled_report_not_computed", schedule_id=str(schedule.id),
                        recipient_id=str(recipient.id), code=exc.code)  # fmt: skip
            continue
        if data is None:
            continue
        context: dict[str, Any] = {
            "report": schedule.kind,
            "frequency": schedule.frequency,
            "from_date": period[0].isoformat(),
            "to_date": period[1].isoformat(),
            "filename": name,
            "schedule_id": str(schedule.id),
            "attachment": {
                "filename": name,
                "media_type": MEDIA[schedule.format],
                "data": base64.b64encode(data).decode("ascii"),
            },
        }
        if await notification.enqueue(session, Kind.SCHEDULED_REPORT, to=recipient,
                                      context=context):  # fmt: skip
            queued += 1
    return queued


async def send_due(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Claim and mail every schedule's finished period; returns how many mails were queued.
    Flushes, never commits."""
    today = (now - LAST_ZONE).date()
    queued = 0
    due: list[tuple[uuid.UUID, tuple[date, date]]] = []
    for schedule in await session.scalars(select(ReportSchedule).order_by(ReportSchedule.id)):
        period = last_period(schedule.frequency, today)
        if period[1] < (schedule.created_at - LAST_ZONE).date():
            continue  # created after that period: its first is the current one
        if await _claim(session, schedule, period, now):
            mailed = await send_schedule(session, schedule, period, now=now, settings=settings)
            due.append((schedule.id, period))
            await session.execute(
                update(ReportScheduleRun)
                .where(
                    ReportScheduleRun.schedule_id == schedule.id,
                    ReportScheduleRun.period_start == period[0],
                )
                .values(mailed=mailed)
            )
            queued += mailed
    await session.flush()
    if due:
        log.info("scheduled_reports_computed", schedules=len(due), mailed=queued)
    return queued
