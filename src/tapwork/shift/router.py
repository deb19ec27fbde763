from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from tapwork.auth.deps import Principal, require
from tapwork.db import DbSession
from tapwork.kit.pagination import Page, Pagination
from tapwork.kit.types import Search
from tapwork.permissions import P
from tapwork.shift import service
from tapwork.shift.schemas import ShiftCreate, ShiftRead, ShiftUpdate

router = APIRouter(prefix="/shifts", tags=["shifts"])

Reader = Annotated[Principal, require(P.SHIFTS_READ)]
Writer = Annotated[Principal, require(P.SHIFTS_WRITE)]


@router.get("", response_model=Page[ShiftRead])
async def list_shifts(
    _: Reader,
    session: DbSession,
    page: Pagination,
    search: Annotated[Search | None, Query(description="part of the name")] = None,
) -> Page[ShiftRead]:
    """Shifts ordered by name, with their length, whether they cross midnight and how many
    users work them."""
    rows, total = await service.list_shifts(session, page, search=search)
    items = await service.describe(session, rows)
    return Page(items=items, total=total, page=page.page, limit=page.limit)


@router.post("", response_model=ShiftRead, status_code=201)
async def create_shift(principal: Writer, session: DbSession, body: ShiftCreate) -> ShiftRead:
    """Create a shift. Times are local "HH:MM" in each user's location timezone; an end at or
    before the start crosses midnight (a night shift belongs to the day it starts); equal
    times are a 422. The name is unique (409 SHIFT_NAME_TAKEN, case-insensitive)."""
    shift = await service.create(session, body, actor=principal.actor)
    return (await service.describe(session, [shift]))[0]


@router.get("/{shift_id:uuid}", response_model=ShiftRead)
async def get_shift(_: Reader, session: DbSession, shift_id: uuid.UUID) -> ShiftRead:
    """One shift (404 SHIFT_NOT_FOUND)."""
    shift = await service.get(session, shift_id)
    return (await service.describe(session, [shift]))[0]


@router.put("/{shift_id:uuid}", response_model=ShiftRead)
async def update_shift(
    principal: Writer, session: DbSession, shift_id: uuid.UUID, body: ShiftUpdate
) -> ShiftRead:
    """Change the fields sent. Changes apply to scans from now on; stored records keep the
    status they were given."""
    shift = await service.get(session, shift_id)
    shift = await service.update(session, shift, body, actor=principal.actor)
    return (await service.describe(session, [shift]))[0]


@router.delete("/{shift_id:uuid}", status_code=204)
async def delete_shift(principal: Writer, session: DbSession, shift_id: uuid.UUID) -> Response:
    """Delete a shift no user works; 409 SHIFT_IN_USE otherwise. Past attendance records keep
    their times and status."""
    shift = await service.get(session, shift_id)
    await service.delete(session, shift, actor=principal.actor)
    return Response(status_code=204)
