from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import crud
from tapwork.holiday.errors import HolidayExists, HolidayNotFound, invalid_field
from tapwork.holiday.models import Holiday
from tapwork.holiday.schemas import HolidayCreate, HolidayRead, HolidayUpdate
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate
from tapwork.location.models import Location

FIELDS = ("holiday_date", "name", "location_id")
RESOURCE = "holiday"
UNIQUE = "uq_holidays_date_location"


@dataclass(frozen=True, slots=True)
class HolidayFilter:
    year: int | None = None
    start_date: date | None = None  # inclusive
    end_date: date | None = None  # inclusive
    location_id: uuid.UUID | None = None
    # With a location: also the holidays that apply everywhere (what its users get off).
    include_global: bool = True


# A check-in's work date is its local calendar day, the day before or the day after (a night
# shift belongs to the day it starts: `attendance.rules.work_date_for`), so the holidays that
# can decide its status are those within a local day of it. Scans (in SQL, `window_sql`) and
# corrections (`around`) read the same window.
WINDOW_DAYS = 1


def window(at: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """The first and last day (inclusive) whose holidays can apply to a check-in at `at`."""
    day = at.astimezone(tz).date()
    return day - timedelta(days=WINDOW_DAYS), day + timedelta(days=WINDOW_DAYS)


def window_sql(at: str, timezone: str) -> str:
    """`window` as a SQL condition on `holiday_date`, for the SQL expressions `at`
    (timestamptz) and `timezone` (an IANA name)."""
    day = f"({at} AT TIME ZONE {timezone})::date"
    return f"BETWEEN {day} - {WINDOW_DAYS} AND {day} + {WINDOW_DAYS}"


async def around(
    session: AsyncSession, at: datetime, tz: ZoneInfo, location_id: uuid.UUID | None
) -> frozenset[date]:
    """The holiday dates that can apply to a check-in at `at` at this location (its own and
    those everywhere; without a location, those everywhere)."""
    first, last = window(at, tz)
    here = (
        Holiday.location_id.is_(None)
        if location_id is None
        else or_(Holiday.location_id.is_(None), Holiday.location_id == location_id)
    )
    query = select(Holiday.holiday_date).where(Holiday.holiday_date.between(first, last), here)
    return frozenset(await session.scalars(query))


def _exists(day: date, location_id: uuid.UUID | None) -> HolidayExists:
    where = "everywhere" if location_id is None else "at this location"
    return HolidayExists(
        f"A holiday on {day.isoformat()} {where} already exists",
        holiday_date=day.isoformat(),
        location_id=str(location_id) if location_id else None,
    )


async def get(session: AsyncSession, holiday_id: uuid.UUID) -> Holiday:
    holiday = await session.get(Holiday, holiday_id)
    if holiday is None:
        raise HolidayNotFound("No such holiday", id=str(holiday_id))
    return holiday


async def list_holidays(
    session: AsyncSession, params: PageParams, filters: HolidayFilter
) -> tuple[list[Holiday], int]:
    query = select(Holiday).order_by(Holiday.holiday_date, Holiday.name, Holiday.id)
    if filters.year is not None:
        query = query.where(
            Holiday.holiday_date >= date(filters.year, 1, 1),
            Holiday.holiday_date <= date(filters.year, 12, 31),
        )
    if filters.start_date is not None:
        query = query.where(Holiday.holiday_date >= filters.start_date)
    if filters.end_date is not None:
        query = query.where(Holiday.holiday_date <= filters.end_date)
    if filters.location_id is not None:
        here = Holiday.location_id == filters.location_id
        query = query.where(
            or_(here, Holiday.location_id.is_(None)) if filters.include_global else here
        )
    return await paginate(session, query, params)


async def describe(session: AsyncSession, holidays: Sequence[Holiday]) -> list[HolidayRead]:
    ids = {h.location_id for h in holidays if h.location_id}
    rows = await session.execute(select(Location.id, Location.name).where(Location.id.in_(ids)))
    names: dict[uuid.UUID, str] = dict(rows.all())
    return [
        HolidayRead(
            id=h.id,
            holiday_date=h.holiday_date,
            name=h.name,
            location_id=h.location_id,
            location_name=names.get(h.location_id) if h.location_id else None,
            created_at=h.created_at,
            updated_at=h.updated_at,
        )
        for h in holidays
    ]


async def _check(
    session: AsyncSession, day: date, location_id: uuid.UUID | None, *, exclude: uuid.UUID | None
) -> None:
    if location_id is not None and await session.get(Location, location_id) is None:
        raise invalid_field("body.location_id", "no such location")
    query = select(Holiday.id).where(
        Holiday.holiday_date == day, Holiday.location_id.is_not_distinct_from(location_id)
    )
    if exclude is not None:
        query = query.where(Holiday.id != exclude)
    if await session.scalar(query) is not None:
        raise _exists(day, location_id)


async def create(session: AsyncSession, data: HolidayCreate, *, actor: Actor) -> Holiday:
    await _check(session, data.holiday_date, data.location_id, exclude=None)
    holiday = Holiday(**data.model_dump())
    unique = {UNIQUE: lambda: _exists(data.holiday_date, data.location_id)}
    return await crud.create(
        session, actor, "holiday.create", RESOURCE, holiday, fields=FIELDS, errors=unique
    )


async def update(
    session: AsyncSession, holiday: Holiday, data: HolidayUpdate, *, actor: Actor
) -> Holiday:
    changes = data.model_dump(exclude_unset=True)
    changes = {k: v for k, v in changes.items() if v is not None or k == "location_id"}
    day = changes.get("holiday_date", holiday.holiday_date)
    location_id = changes.get("location_id", holiday.location_id)
    if (day, location_id) != (holiday.holiday_date, holiday.location_id):
        await _check(session, day, location_id, exclude=holiday.id)
    unique = {UNIQUE: lambda: _exists(day, location_id)}
    return await crud.update(
        session, actor, "holiday.update", RESOURCE, holiday, changes, fields=FIELDS, errors=unique
    )


async def delete(session: AsyncSession, holiday: Holiday, *, actor: Actor) -> None:
    # Nothing references a holiday, so there is no in-use race to map.
    await crud.delete(session, actor, "holiday.delete", RESOURCE, holiday, fields=FIELDS)
