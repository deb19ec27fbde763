from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from tapwork.auth.deps import Principal, require
from tapwork.db import DbSession
from tapwork.holiday import service
from tapwork.holiday.errors import invalid_field
from tapwork.holiday.schemas import HolidayCreate, HolidayRead, HolidayUpdate
from tapwork.holiday.service import HolidayFilter
from tapwork.kit.pagination import Page, Pagination
from tapwork.kit.types import MAX_DATE, MIN_DATE, Day
from tapwork.permissions import P

router = APIRouter(prefix="/holidays", tags=["holidays"])

Reader = Annotated[Principal, require(P.HOLIDAYS_READ)]
Writer = Annotated[Principal, require(P.HOLIDAYS_WRITE)]


@router.get("", response_model=Page[HolidayRead])
async def list_holidays(
    _: Reader,
    session: DbSession,
    page: Pagination,
    year: Annotated[int | None, Query(ge=MIN_DATE.year, le=MAX_DATE.year)] = None,
    start_date: Annotated[Day | None, Query(description="from this day, inclusive")] = None,
    end_date: Annotated[Day | None, Query(description="up to this day, inclusive")] = None,
    location_id: Annotated[
        uuid.UUID | None, Query(description="holidays that apply at this location")
    ] = None,
    include_global: Annotated[
        bool, Query(description="with location_id: also the holidays of every location")
    ] = True,
) -> Page[HolidayRead]:
    """Holidays in date order. Filters combine: a year, a date range, a location."""
    if start_date and end_date and end_date < start_date:
        raise invalid_field("query.end_date", "must not be before start_date")
    filters = HolidayFilter(
        year=year,
        start_date=start_date,
        end_date=end_date,
        location_id=location_id,
        include_global=include_global,
    )
    rows, total = await service.list_holidays(session, page, filters)
    items = await service.describe(session, rows)
    return Page(items=items, total=total, page=page.page, limit=page.limit)


@router.post("", response_model=HolidayRead, status_code=201)
async def create_holiday(principal: Writer, session: DbSession, body: HolidayCreate) -> HolidayRead:
    """Add a day off, for one location or (`location_id` null) for every location. One holiday
    per day and location: 409 HOLIDAY_EXISTS. Attendance reports do not count it as absence."""
    holiday = await service.create(session, body, actor=principal.actor)
    return (await service.describe(session, [holiday]))[0]


@router.get("/{holiday_id:uuid}", response_model=HolidayRead)
async def get_holiday(_: Reader, session: DbSession, holiday_id: uuid.UUID) -> HolidayRead:
    """One holiday (404 HOLIDAY_NOT_FOUND)."""
    holiday = await service.get(session, holiday_id)
    return (await service.describe(session, [holiday]))[0]


@router.put("/{holiday_id:uuid}", response_model=HolidayRead)
async def update_holiday(
    principal: Writer, session: DbSession, holiday_id: uuid.UUID, body: HolidayUpdate
) -> HolidayRead:
    """Change the fields sent; `location_id: null` makes the holiday apply everywhere."""
    holiday = await service.get(session, holiday_id)
    holiday = await service.update(session, holiday, body, actor=principal.actor)
    return (await service.describe(session, [holiday]))[0]


@router.delete("/{holiday_id:uuid}", status_code=204)
async def delete_holiday(principal: Writer, session: DbSession, holiday_id: uuid.UUID) -> Response:
    """Remove a holiday."""
    holiday = await service.get(session, holiday_id)
    await service.delete(session, holiday, actor=principal.actor)
    return Response(status_code=204)
