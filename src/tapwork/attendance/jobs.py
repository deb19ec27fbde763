"""Worker tasks of the attendance domain: the missing clock-out sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance import digest, rules
from tapwork.attendance.models import AttendanceRecord
from tapwork.config import Settings
from tapwork.location.models import Location
from tapwork.notification import service as notification
from tapwork.notification.kinds import Kind
from tapwork.shift.models import Shift
from tapwork.user.models import User
from tapwork.worker import jobs
from tapwork.worker.jobs import app

log = structlog.get_logger("tapwork.attendance.jobs")


def expected_end(record: AttendanceRecord, shift: Shift | None, tz: ZoneInfo) -> datetime:
    rule = rules.ShiftRule(shift.start_time, shift.end_time) if shift else None
    return rules.expected_end(record.check_in_at, rule, record.work_date, tz)


async def flag_missing_clockouts(
    session: AsyncSession, *, now: datetime, settings: Settings
) -> int:
    """Flag open records past their shift end + `missing_clockout_hours` and remind each
    employee once. Never closes a record: HR corrects it. Returns how many were flagged."""
    grace = timedelta(hours=settings.missing_clockout_hours)
    rows = (
        await session.execute(
            select(AttendanceRecord, Shift, Location.timezone, Location.name, User)
            .join(User, User.id == AttendanceRecord.user_id)
            .outerjoin(Shift, Shift.id == AttendanceRecord.shift_id)
            .outerjoin(Location, Location.id == AttendanceRecord.location_id)
            .where(
                AttendanceRecord.check_out_at.is_(None),
                AttendanceRecord.missing_checkout_flagged_at.is_(None),
                AttendanceRecord.check_in_at < now - grace,
            )
            .order_by(AttendanceRecord.check_in_at)
            .limit(1000)
            # Two sweeps at once (a retried job) never flag, or mail, one record twice.
            .with_for_update(of=AttendanceRecord, skip_locked=True)
        )
    ).all()
    flagged = 0
    for record, shift, timezone, location_name, user in rows:
        tz = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
        if now < expected_end(record, shift, tz) + grace:
            continue
        await session.execute(
            update(AttendanceRecord)
            .where(AttendanceRecord.id == record.id)
            .values(missing_checkout_flagged_at=now)
        )
        await notification.enqueue(
            session,
            Kind.MISSING_CLOCKOUT,
            to=user,
            context={
                "check_in_local": record.check_in_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                "location": location_name or "",
            },
        )
        flagged += 1
    await session.flush()
    return flagged


@app.periodic(cron="*/15 * * * *", periodic_id="missing_clockouts")
@app.task(name="attendance.flag_missing_clockouts", queueing_lock="missing_clockouts")
async def missing_clockouts(timestamp: int) -> int:
    """Every 15 minutes, once across all workers (procrastinate defers each period once)."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        flagged = await flag_missing_clockouts(
            session, now=runtime.now(), settings=runtime.settings
        )
    log.info(
        "missing_clockouts_flagged",
        flagged=flagged,
        period=datetime.fromtimestamp(timestamp, tz=UTC).isoformat(),
    )
    return flagged


@app.periodic(cron="*/15 * * * *", periodic_id="attendance_digests")
@app.task(name="attendance.send_digests", queueing_lock="attendance_digests")
async def attendance_digests(timestamp: int) -> int:
    """Every 15 minutes, once across all workers: the daily digests of finished days
    (organisation setting `daily_digest`, attendance/digest.py)."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        queued = await digest.send_digests(session, now=runtime.now())
    if queued:
        log.info("attendance_digests_queued", queued=queued)
    return queued
