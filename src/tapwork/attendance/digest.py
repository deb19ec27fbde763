"""The daily digest of attendance confirmations (organisation setting `daily_digest`).

Instead of a mail per scan (the scan path skips those under this setting), each employee gets
one `attendance_confirmation` mail with `entries` for a finished day: the records of every work
date before today in their location's time zone, created since the setting was last changed
(switching to digests does not mail old days again). `attendance_digests` marks each
(user, day) done in the same transaction as the mail, so concurrent or repeated sweeps never
mail a day twice. The employee's `attendance_confirmation` preference still applies.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.models import AttendanceDigest, AttendanceRecord
from tapwork.location.models import Location
from tapwork.notification import service as notification
from tapwork.notification.kinds import Kind
from tapwork.user.models import User

# Days further back are not digested (a worker that was down for a week sends the last two).
LOOKBACK_DAYS = 2


def _local(at: datetime | None, zone: ZoneInfo) -> str | None:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else None


async def send_digests(session: AsyncSession, *, now: datetime, limit: int = 2000) -> int:
    """Queue the digests that are due; returns how many were queued (opted-out users count as
    done without a mail). Flushes, never commits."""
    mail_settings = await notification.mail_settings(session)
    if mail_settings.attendance_confirmations != "daily_digest":
        return 0
    zone_name = func.coalesce(Location.timezone, "UTC")
    local_today = func.date(func.timezone(zone_name, now))
    digested = exists().where(
        and_(
            AttendanceDigest.user_id == AttendanceRecord.user_id,
            AttendanceDigest.work_date == AttendanceRecord.work_date,
        )
    )
    rows = (
        await session.execute(
            select(AttendanceRecord, zone_name.label("zone"), Location.name)
            .outerjoin(Location, Location.id == AttendanceRecord.location_id)
            .where(
                AttendanceRecord.work_date < local_today,
                AttendanceRecord.work_date >= (now - timedelta(days=LOOKBACK_DAYS + 1)).date(),
                AttendanceRecord.created_at >= mail_settings.updated_at,
                ~digested,
            )
            .order_by(AttendanceRecord.user_id, AttendanceRecord.work_date)
            .limit(limit)
        )
    ).all()
    days: dict[tuple[uuid.UUID, date], list[dict[str, Any]]] = defaultdict(list)
    for record, zone, location_name in rows:
        tz = ZoneInfo(zone)
        days[(record.user_id, record.work_date)].append(
            {
                "check_in": _local(record.check_in_at, tz),
                "check_out": _local(record.check_out_at, tz),
                "status": record.status,
                "worked_minutes": record.worked_minutes,
                "location": location_name or "",
            }
        )
    queued = 0
    for (user_id, work_date), entries in days.items():
        # The marker first: a concurrent sweep that got there before us wins, we skip.
        claimed = await session.scalar(
            insert(AttendanceDigest)
            .values(user_id=user_id, work_date=work_date, created_at=now)
            .on_conflict_do_nothing()
            .returning(AttendanceDigest.user_id)
        )
        user = await session.get(User, user_id) if claimed else None
        if user is None or not user.is_active:
            continue
        entries.sort(key=lambda e: e["check_in"] or "")
        mail = await notification.enqueue(
            session,
            Kind.ATTENDANCE_CONFIRMATION,
            to=user,
            context={"work_date": work_date.isoformat(), "entries": entries},
        )
        queued += mail is not None
    await session.flush()
    return queued
