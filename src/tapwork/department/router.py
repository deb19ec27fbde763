from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from tapwork.auth.deps import Principal, require
from tapwork.db import DbSession
from tapwork.department import service
from tapwork.department.schemas import DepartmentCreate, DepartmentRead, DepartmentUpdate
from tapwork.kit.pagination import Page, Pagination
from tapwork.kit.types import Search
from tapwork.permissions import P

router = APIRouter(prefix="/departments", tags=["departments"])

Reader = Annotated[Principal, require(P.DEPARTMENTS_READ)]
Writer = Annotated[Principal, require(P.DEPARTMENTS_WRITE)]


@router.get("", response_model=Page[DepartmentRead])
async def list_departments(
    _: Reader,
    session: DbSession,
    page: Pagination,
    search: Annotated[Search | None, Query(description="part of the name")] = None,
    manager_id: Annotated[
        uuid.UUID | None, Query(description="only departments this user manages")
    ] = None,
) -> Page[DepartmentRead]:
    """Departments ordered by name, with their manager and member count. A supervisor's own
    departments: `manager_id=<their user id>`."""
    rows, total = await service.list_departments(
        session, page, search=search, manager_id=manager_id
    )
    items = await service.describe(session, rows)
    return Page(items=items, total=total, page=page.page, limit=page.limit)


@router.post("", response_model=DepartmentRead, status_code=201)
async def create_department(
    principal: Writer, session: DbSession, body: DepartmentCreate
) -> DepartmentRead:
    """Create a department. The name is unique (409 DEPARTMENT_NAME_TAKEN, case-insensitive);
    `manager_id` must be an active user (422 naming `manager_id`)."""
    department = await service.create(session, body, actor=principal.actor)
    return (await service.describe(session, [department]))[0]


@router.get("/{department_id:uuid}", response_model=DepartmentRead)
async def get_department(_: Reader, session: DbSession, department_id: uuid.UUID) -> DepartmentRead:
    """One department (404 DEPARTMENT_NOT_FOUND)."""
    department = await service.get(session, department_id)
    return (await service.describe(session, [department]))[0]


@router.put("/{department_id:uuid}", response_model=DepartmentRead)
async def update_department(
    principal: Writer, session: DbSession, department_id: uuid.UUID, body: DepartmentUpdate
) -> DepartmentRead:
    """Change the fields sent; send `manager_id: null` to remove the manager."""
    department = await service.get(session, department_id)
    department = await service.update(session, department, body, actor=principal.actor)
    return (await service.describe(session, [department]))[0]


@router.delete("/{department_id:uuid}", status_code=204)
async def delete_department(
    principal: Writer, session: DbSession, department_id: uuid.UUID
) -> Response:
    """Delete an empty department; 409 DEPARTMENT_IN_USE while users still belong to it."""
    department = await service.get(session, department_id)
    await service.delete(session, department, actor=principal.actor)
    return Response(status_code=204)
