from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import crud
from tapwork.department.errors import (
    DepartmentInUse,
    DepartmentNameTaken,
    DepartmentNotFound,
    InvalidManager,
)
from tapwork.department.models import Department
from tapwork.department.schemas import DepartmentCreate, DepartmentRead, DepartmentUpdate
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate
from tapwork.kit.search import contains
from tapwork.user.models import User

FIELDS = ("name", "description", "manager_id")
RESOURCE = "department"


def _name_taken(name: str) -> DepartmentNameTaken:
    return DepartmentNameTaken(f"A department named {name!r} already exists", name=name)


async def get(session: AsyncSession, department_id: uuid.UUID) -> Department:
    department = await session.get(Department, department_id)
    if department is None:
        raise DepartmentNotFound("No such department", id=str(department_id))
    return department


async def list_departments(
    session: AsyncSession,
    params: PageParams,
    *,
    search: str | None = None,
    manager_id: uuid.UUID | None = None,
) -> tuple[list[Department], int]:
    query = select(Department).order_by(Department.name, Department.id)
    if search:
        query = query.where(contains(Department.name, search))
    if manager_id is not None:
        query = query.where(Department.manager_id == manager_id)
    return await paginate(session, query, params)


async def describe(
    session: AsyncSession, departments: Sequence[Department]
) -> list[DepartmentRead]:
    """Read models with member counts and manager names, in two queries for the whole page."""
    ids = [d.id for d in departments]
    count_rows = await session.execute(
        select(User.department_id, func.count())
        .where(User.department_id.in_(ids))
        .group_by(User.department_id)
    )
    counts: dict[uuid.UUID | None, int] = dict(count_rows.all())
    manager_ids = {d.manager_id for d in departments if d.manager_id}
    name_rows = await session.execute(
        select(User.id, User.first_name, User.last_name).where(User.id.in_(manager_ids))
    )
    names = {uid: f"{first} {last}" for uid, first, last in name_rows.all()}
    return [
        DepartmentRead(
            id=d.id,
            name=d.name,
            description=d.description,
            manager_id=d.manager_id,
            manager_name=names.get(d.manager_id) if d.manager_id else None,
            member_count=counts.get(d.id, 0),
            created_at=d.created_at,
            updated_at=d.updated_at,
        )
        for d in departments
    ]


async def _check_manager(session: AsyncSession, manager_id: uuid.UUID | None) -> None:
    if manager_id is None:
        return
    active = await session.scalar(
        select(User.id).where(User.id == manager_id, User.is_active.is_(True))
    )
    if active is None:
        raise InvalidManager()


async def _check_name(session: AsyncSession, name: str, *, exclude: uuid.UUID | None) -> None:
    query = select(Department.id).where(func.lower(Department.name) == name.lower())
    if exclude is not None:
        query = query.where(Department.id != exclude)
    if await session.scalar(query) is not None:
        raise _name_taken(name)


async def create(session: AsyncSession, data: DepartmentCreate, *, actor: Actor) -> Department:
    await _check_manager(session, data.manager_id)
    await _check_name(session, data.name, exclude=None)
    department = Department(
        name=data.name, description=data.description, manager_id=data.manager_id
    )
    unique = {"uq_departments_name": lambda: _name_taken(data.name)}
    return await crud.create(
        session, actor, "department.create", RESOURCE, department, fields=FIELDS, errors=unique
    )


async def update(
    session: AsyncSession, department: Department, data: DepartmentUpdate, *, actor: Actor
) -> Department:
    changes = data.model_dump(exclude_unset=True)
    # null means "unchanged" for the required columns; only the manager can be removed.
    changes = {k: v for k, v in changes.items() if v is not None or k == "manager_id"}
    if "manager_id" in changes and changes["manager_id"] != department.manager_id:
        await _check_manager(session, changes["manager_id"])
    if "name" in changes and changes["name"] != department.name:
        await _check_name(session, changes["name"], exclude=department.id)
    unique = {"uq_departments_name": lambda: _name_taken(changes["name"])}
    return await crud.update(
        session,
        actor,
        "department.update",
        RESOURCE,
        department,
        changes,
        fields=FIELDS,
        errors=unique,
    )


async def delete(session: AsyncSession, department: Department, *, actor: Actor) -> None:
    members = await session.scalar(
        select(func.count()).select_from(User).where(User.department_id == department.id)
    )
    if members:
        raise DepartmentInUse(
            f"{members} user(s) still belong to this department; move them first",
            member_count=members,
        )
    in_use = {
        "fk_users_department_id_departments": lambda: DepartmentInUse(
            "Users were added to this department meanwhile; move them first"
        )
    }
    await crud.delete(
        session, actor, "department.delete", RESOURCE, department, fields=FIELDS, errors=in_use
    )
