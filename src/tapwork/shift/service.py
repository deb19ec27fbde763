from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import crud
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate
from tapwork.kit.search import contains
from tapwork.shift.errors import EmptyShift, ShiftInUse, ShiftNameTaken, ShiftNotFound
from tapwork.shift.models import Shift
from tapwork.shift.schemas import ShiftCreate, ShiftRead, ShiftUpdate
from tapwork.user.models import User

FIELDS = (
    "name",
    "start_time",
    "end_time",
    "grace_minutes",
    "early_threshold_minutes",
    "working_days",
)
RESOURCE = "shift"
MINUTES_PER_DAY = 24 * 60


def duration_minutes(start: time, end: time) -> int:
    """Length of a shift in minutes; an end at or before the start is on the next day."""
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    return minutes if minutes > 0 else minutes + MINUTES_PER_DAY


def _name_taken(name: str) -> ShiftNameTaken:
    return ShiftNameTaken(f"A shift named {name!r} already exists", name=name)


async def get(session: AsyncSession, shift_id: uuid.UUID) -> Shift:
    shift = await session.get(Shift, shift_id)
    if shift is None:
        raise ShiftNotFound("No such shift", id=str(shift_id))
    return shift


async def list_shifts(
    session: AsyncSession, params: PageParams, *, search: str | None = None
) -> tuple[list[Shift], int]:
    query = select(Shift).order_by(Shift.name, Shift.id)
    if search:
        query = query.where(contains(Shift.name, search))
    return await paginate(session, query, params)


async def describe(session: AsyncSession, shifts: Sequence[Shift]) -> list[ShiftRead]:
    rows = await session.execute(
        select(User.shift_id, func.count())
        .where(User.shift_id.in_([s.id for s in shifts]))
        .group_by(User.shift_id)
    )
    counts: dict[uuid.UUID | None, int] = dict(rows.all())
    return [
        ShiftRead(
            id=s.id,
            name=s.name,
            start_time=s.start_time,
            end_time=s.end_time,
            grace_minutes=s.grace_minutes,
            early_threshold_minutes=s.early_threshold_minutes,
            working_days=sorted(s.working_days),
            crosses_midnight=s.end_time <= s.start_time,
            duration_minutes=duration_minutes(s.start_time, s.end_time),
            user_count=counts.get(s.id, 0),
            created_at=s.created_at,
            updated_at=s.updated_at,
        )
        for s in shifts
    ]


async def _check_name(session: AsyncSession, name: str, *, exclude: uuid.UUID | None) -> None:
    query = select(Shift.id).where(func.lower(Shift.name) == name.lower())
    if exclude is not None:
        query = query.where(Shift.id != exclude)
    if await session.scalar(query) is not None:
        raise _name_taken(name)


async def create(session: AsyncSession, data: ShiftCreate, *, actor: Actor) -> Shift:
    await _check_name(session, data.name, exclude=None)
    shift = Shift(**data.model_dump())
    unique = {"uq_shifts_name": lambda: _name_taken(data.name)}
    return await crud.create(
        session, actor, "shift.create", RESOURCE, shift, fields=FIELDS, errors=unique
    )


async def update(session: AsyncSession, shift: Shift, data: ShiftUpdate, *, actor: Actor) -> Shift:
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    start = changes.get("start_time", shift.start_time)
    end = changes.get("end_time", shift.end_time)
    if start == end:
        raise EmptyShift()
    if "name" in changes and changes["name"] != shift.name:
        await _check_name(session, changes["name"], exclude=shift.id)
    unique = {"uq_shifts_name": lambda: _name_taken(changes["name"])}
    return await crud.update(
        session, actor, "shift.update", RESOURCE, shift, changes, fields=FIELDS, errors=unique
    )


async def delete(session: AsyncSession, shift: Shift, *, actor: Actor) -> None:
    users = await session.scalar(
        select(func.count()).select_from(User).where(User.shift_id == shift.id)
    )
    if users:
        raise ShiftInUse(
            f"{users} user(s) still work this shift; assign them another first", user_count=users
        )
    in_use = {
        "fk_users_shift_id_shifts": lambda: ShiftInUse(
            "Users were assigned to this shift meanwhile; assign them another first"
        )
    }
    await crud.delete(session, actor, "shift.delete", RESOURCE, shift, fields=FIELDS, errors=in_use)
