from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import crud
from tapwork.kiosk.models import Kiosk
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate
from tapwork.kit.search import contains
from tapwork.location.errors import LocationInUse, LocationNameTaken, LocationNotFound
from tapwork.location.models import Location
from tapwork.location.schemas import LocationCreate, LocationRead, LocationUpdate
from tapwork.user.models import User

FIELDS = ("name", "timezone", "address")
RESOURCE = "location"


def _name_taken(name: str) -> LocationNameTaken:
    return LocationNameTaken(f"A location named {name!r} already exists", name=name)


async def get(session: AsyncSession, location_id: uuid.UUID) -> Location:
    location = await session.get(Location, location_id)
    if location is None:
        raise LocationNotFound("No such location", id=str(location_id))
    return location


async def list_locations(
    session: AsyncSession, params: PageParams, *, search: str | None = None
) -> tuple[list[Location], int]:
    query = select(Location).order_by(Location.name, Location.id)
    if search:
        query = query.where(contains(Location.name, search))
    return await paginate(session, query, params)


async def _counts(session: AsyncSession, column: Any, ids: list[uuid.UUID]) -> dict[Any, int]:
    rows = await session.execute(
        select(column, func.count()).where(column.in_(ids)).group_by(column)
    )
    return dict(rows.all())


async def describe(session: AsyncSession, locations: Sequence[Location]) -> list[LocationRead]:
    ids = [loc.id for loc in locations]
    users = await _counts(session, User.location_id, ids)
    kiosks = await _counts(session, Kiosk.location_id, ids)
    return [
        LocationRead(
            id=loc.id,
            name=loc.name,
            timezone=loc.timezone,
            address=loc.address,
            user_count=users.get(loc.id, 0),
            kiosk_count=kiosks.get(loc.id, 0),
            created_at=loc.created_at,
            updated_at=loc.updated_at,
        )
        for loc in locations
    ]


async def _check_name(session: AsyncSession, name: str, *, exclude: uuid.UUID | None) -> None:
    query = select(Location.id).where(func.lower(Location.name) == name.lower())
    if exclude is not None:
        query = query.where(Location.id != exclude)
    if await session.scalar(query) is not None:
        raise _name_taken(name)


async def create(session: AsyncSession, data: LocationCreate, *, actor: Actor) -> Location:
    await _check_name(session, data.name, exclude=None)
    location = Location(**data.model_dump())
    unique = {"uq_locations_name": lambda: _name_taken(data.name)}
    return await crud.create(
        session, actor, "location.create", RESOURCE, location, fields=FIELDS, errors=unique
    )


async def update(
    session: AsyncSession, location: Location, data: LocationUpdate, *, actor: Actor
) -> Location:
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "name" in changes and changes["name"] != location.name:
        await _check_name(session, changes["name"], exclude=location.id)
    unique = {"uq_locations_name": lambda: _name_taken(changes["name"])}
    return await crud.update(
        session, actor, "location.update", RESOURCE, location, changes, fields=FIELDS, errors=unique
    )


async def delete(session: AsyncSession, location: Location, *, actor: Actor) -> None:
    """Holidays of the location go with it (the foreign key cascades); users and kiosks
    (revoked ones too, for their history) must be moved first."""
    counts = (await describe(session, [location]))[0]
    if counts.user_count or counts.kiosk_count:
        raise LocationInUse(
            f"{counts.user_count} user(s) and {counts.kiosk_count} kiosk(s) still use this "
            "location; move them first",
            user_count=counts.user_count,
            kiosk_count=counts.kiosk_count,
        )

    def raced() -> LocationInUse:
        return LocationInUse("The location was assigned meanwhile; move them first")

    in_use = {
        "fk_users_location_id_locations": raced,
        "fk_kiosks_location_id_locations": raced,
    }
    await crud.delete(
        session, actor, "location.delete", RESOURCE, location, fields=FIELDS, errors=in_use
    )
