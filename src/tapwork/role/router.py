from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response

from tapwork.auth.deps import Principal, require
from tapwork.db import DbSession
from tapwork.kit.pagination import Page, Pagination
from tapwork.permissions import P
from tapwork.role import service
from tapwork.role.schemas import PermissionRead, RoleCreate, RoleRead, RoleUpdate

router = APIRouter(prefix="/roles", tags=["roles"])

Reader = Annotated[Principal, require(P.ROLES_READ)]
Writer = Annotated[Principal, require(P.ROLES_WRITE)]


@router.get("", response_model=Page[RoleRead])
async def list_roles(_: Reader, session: DbSession, page: Pagination) -> Page[RoleRead]:
    """The seeded roles first, then custom roles by name, each with its permissions and the
    number of users holding it."""
    rows, total = await service.list_roles(session, page)
    items = await service.describe(session, rows)
    return Page(items=items, total=total, page=page.page, limit=page.limit)


# Declared before /{role_id} so "permissions" is not read as a role id.
@router.get("/permissions", response_model=list[PermissionRead])
async def list_permissions(_: Reader) -> list[PermissionRead]:
    """Every permission string a role can hold, with a one-line description."""
    return service.catalogue()


@router.post("", response_model=RoleRead, status_code=201)
async def create_role(principal: Writer, session: DbSession, body: RoleCreate) -> RoleRead:
    """Create a custom role. Unknown permissions are a 422 listing them (`details.unknown`);
    granting a permission you do not hold yourself is a 403 PERMISSION_NOT_HELD. The name is
    unique (409 ROLE_NAME_TAKEN, case-insensitive)."""
    role = await service.create(session, body, actor=principal.actor)
    return (await service.describe(session, [role]))[0]


@router.get("/{role_id:uuid}", response_model=RoleRead)
async def get_role(_: Reader, session: DbSession, role_id: uuid.UUID) -> RoleRead:
    """One role (404 ROLE_NOT_FOUND)."""
    role = await service.get(session, role_id)
    return (await service.describe(session, [role]))[0]


@router.put("/{role_id:uuid}", response_model=RoleRead)
async def update_role(
    principal: Writer, session: DbSession, role_id: uuid.UUID, body: RoleUpdate
) -> RoleRead:
    """Change a custom role; `permissions` replaces the whole set and takes effect on its
    users' next request. The seeded roles cannot be changed: 409 SYSTEM_ROLE."""
    role = await service.get(session, role_id)
    role = await service.update(session, role, body, actor=principal.actor)
    return (await service.describe(session, [role]))[0]


@router.delete("/{role_id:uuid}", status_code=204)
async def delete_role(principal: Writer, session: DbSession, role_id: uuid.UUID) -> Response:
    """Delete a custom role nobody holds (409 ROLE_IN_USE otherwise; 409 SYSTEM_ROLE for the
    seeded roles)."""
    role = await service.get(session, role_id)
    await service.delete(session, role, actor=principal.actor)
    return Response(status_code=204)
