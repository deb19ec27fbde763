from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from tapwork.auth.deps import Principal, require
from tapwork.db import DbSession
from tapwork.kit.pagination import Page, Pagination
from tapwork.kit.types import Search
from tapwork.location import service
from tapwork.location.schemas import LocationCreate, LocationRead, LocationUpdate
from tapwork.permissions import P

router = APIRouter(prefix="/locations", tags=["locations"])

Reader = Annotated[Principal, require(P.LOCATIONS_READ)]
Writer = Annotated[Principal, require(P.LOCATIONS_WRITE)]


@router.get("", response_model=Page[LocationRead])
async def list_locations(
    _: Reader,
    session: DbSession,
    page: Pagination,
    search: Annotated[Search | None, Query(description="part of the name")] = None,
) -> Page[LocationRead]:
    """Locations ordered by name, with how many users and kiosks they have."""
    rows, total = await service.list_locations(session, page, search=search)
    items = await service.describe(session, rows)
    return Page(items=items, total=total, page=page.page, limit=page.limit)


@router.post("", response_model=LocationRead, status_code=201)
async def create_location(
    principal: Writer, session: DbSession, body: LocationCreate
) -> LocationRead:
    """Create a location. `timezone` must be an IANA name (e.g. `Europe/Madrid`, 422 naming
    `timezone` otherwise); shift times of its users are read in it. The name is unique (409
    LOCATION_NAME_TAKEN, case-insensitive)."""
    location = await service.create(session, body, actor=principal.actor)
    return (await service.describe(session, [location]))[0]


@router.get("/{location_id:uuid}", response_model=LocationRead)
async def get_location(_: Reader, session: DbSession, location_id: uuid.UUID) -> LocationRead:
    """One location (404 LOCATION_NOT_FOUND)."""
    location = await service.get(session, location_id)
    return (await service.describe(session, [location]))[0]


@router.put("/{location_id:uuid}", response_model=LocationRead)
async def update_location(
    principal: Writer, session: DbSession, location_id: uuid.UUID, body: LocationUpdate
) -> LocationRead:
    """Change the fields sent; null means unchanged."""
    location = await service.get(session, location_id)
    location = await service.update(session, location, body, actor=principal.actor)
    return (await service.describe(session, [location]))[0]


@router.delete("/{location_id:uuid}", status_code=204)
async def delete_location(
    principal: Writer, session: DbSession, location_id: uuid.UUID
) -> Response:
    """Delete a location no user or kiosk uses (409 LOCATION_IN_USE otherwise). Its holidays
    are deleted with it."""
    location = await service.get(session, location_id)
    await service.delete(session, location, actor=principal.actor)
    return Response(status_code=204)
