"""Kiosk fleet health: when a location is open, and which kiosks have gone silent in it.

A location is open while any active employee assigned to it is inside a shift: the shift's
times in the location's time zone, on its working days, except on a holiday of that location
(or of everywhere). A night shift belongs to the day it starts. TAPWORK has no separate
opening hours; the shifts of the people who scan there are the hours a kiosk must answer.

A kiosk is silent when it has not been heard from for `KIOSK_SILENT_MINUTES` *of opening
time*: a kiosk switched off overnight is not silent at 09:00 sharp, only once the location
has been open that long without hearing from it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.holiday.models import Holiday
from tapwork.kiosk.models import Kiosk
from tapwork.notification import incidents
from tapwork.shift.models import Shift
from tapwork.user.models import User

SILENT_PREFIX = "kiosk.silent."


@dataclass(frozen=True, slots=True)
class Hours:
    start: time
    end: time
    working_days: frozenset[int]


def open_since(
    now: datetime, tz: ZoneInfo, hours: Iterable[Hours], holidays: frozenset[date]
) -> datetime | None:
    """When the location's current opening began (UTC): the earliest start among the shifts
    under way at `now`; None while it is closed."""
    local_day = now.astimezone(tz).date()
    starts = []
    for shift in hours:
        for day in (local_day, local_day - timedelta(days=1)):
            if day.isoweekday() not in shift.working_days or day in holidays:
                continue
            start = datetime.combine(day, shift.start, tz).astimezone(UTC)
            end_day = day if shift.end > shift.start else day + timedelta(days=1)
            end = datetime.combine(end_day, shift.end, tz).astimezone(UTC)
            if start <= now < end:
                starts.append(start)
    return min(starts) if starts else None


def silent_since(
    last_seen_at: datetime, opened_at: datetime | None, now: datetime, threshold: timedelta
) -> datetime | None:
    """When a kiosk last heard at `last_seen_at` started counting as silent, if it is silent
    now (at least `threshold` of opening time without a word), else None."""
    if opened_at is None:
        return None
    since = max(last_seen_at, opened_at)
    return since if now - since >= threshold else None


async def silent_alerts(session: AsyncSession) -> dict[uuid.UUID, datetime]:
    """Kiosks with an open silent-kiosk incident, and when it was raised."""
    opened = await incidents.open_since(session, SILENT_PREFIX)
    return {uuid.UUID(key.removeprefix(SILENT_PREFIX)): at for key, at in opened.items()}


@dataclass(frozen=True, slots=True)
class Watched:
    kiosk: Kiosk
    silent_since: datetime | None


async def watched_kiosks(
    session: AsyncSession, *, now: datetime, threshold: timedelta
) -> list[Watched]:
    """Every paired, unrevoked kiosk that has been heard from at least once, and whether it
    is silent now. Three queries whatever the fleet size."""
    kiosks = list(
        (
            await session.scalars(
                select(Kiosk)
                .where(
                    Kiosk.token_hash.is_not(None),
                    Kiosk.revoked_at.is_(None),
                    Kiosk.last_seen_at.is_not(None),
                )
                .order_by(Kiosk.name)
            )
        ).all()
    )
    if not kiosks:
        return []
    location_ids = {k.location_id for k in kiosks}
    hours: dict[uuid.UUID, set[Hours]] = defaultdict(set)
    rows = await session.execute(
        select(User.location_id, Shift.start_time, Shift.end_time, Shift.working_days)
        .join(Shift, Shift.id == User.shift_id)
        .where(User.is_active, User.location_id.in_(location_ids))
        .distinct()
    )
    for location_id, start, end, days in rows.all():
        assert location_id is not None  # the IN above
        hours[location_id].add(Hours(start, end, frozenset(days)))
    # Every local "today" and "yesterday" lies within a day and a half of UTC's today.
    today = now.astimezone(UTC).date()
    holiday_rows = await session.execute(
        select(Holiday.holiday_date, Holiday.location_id).where(
            Holiday.holiday_date.between(today - timedelta(days=2), today + timedelta(days=1)),
            or_(Holiday.location_id.is_(None), Holiday.location_id.in_(location_ids)),
        )
    )
    everywhere: set[date] = set()
    local: dict[uuid.UUID, set[date]] = defaultdict(set)
    for day, location_id in holiday_rows.all():
        (everywhere if location_id is None else local[location_id]).add(day)
    out = []
    for kiosk in kiosks:
        assert kiosk.last_seen_at is not None
        opened = open_since(
            now,
            ZoneInfo(kiosk.location.timezone),
            hours[kiosk.location_id],
            frozenset(everywhere | local[kiosk.location_id]),
        )
        out.append(Watched(kiosk, silent_since(kiosk.last_seen_at, opened, now, threshold)))
    return out
