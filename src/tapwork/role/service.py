from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import crud
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate
from tapwork.permissions import ALL_PERMISSIONS, SYSTEM_ROLES, P
from tapwork.role.catalogue import DESCRIPTIONS
from tapwork.role.errors import (
    PermissionNotHeld,
    RoleInUse,
    RoleNameTaken,
    RoleNotFound,
    SystemRole,
    UnknownPermissions,
)
from tapwork.role.models import Role
from tapwork.role.schemas import PermissionRead, RoleCreate, RoleRead, RoleUpdate
from tapwork.user.models import User


async def sync_system_roles(session: AsyncSession) -> None:
    """Create the four seeded roles or bring their permissions up to date with the code.

    Run by `tapwork migrate` after the schema migrations, so a release that adds a permission
    grants it to the system roles without a data migration per permission.
    """
    existing = {r.name: r for r in (await session.scalars(select(Role))).all()}
    for name, (description, permissions) in SYSTEM_ROLES.items():
        role = existing.get(name)
        if role is None:
            session.add(
                Role(
                    name=name,
                    description=description,
                    permissions=sorted(permissions),
                    is_system=True,
                )
            )
        else:
            role.permissions = sorted(permissions)
            role.description = description
            role.is_system = True
    await session.flush()


async def get_by_name(session: AsyncSession, name: str) -> Role | None:
    return await session.scalar(select(Role).where(Role.name == name))


# --- CRUD for /roles -----------------------------------------------------------------------

FIELDS = ("name", "description", "permissions")
RESOURCE = "role"


def _name_taken(name: str) -> RoleNameTaken:
    return RoleNameTaken(f"A role named {name!r} already exists", name=name)


def catalogue() -> list[PermissionRead]:
    return [
        PermissionRead(name=p.value, description=DESCRIPTIONS.get(p.value, ""))
        for p in sorted(P, key=lambda p: p.value)
    ]


async def get(session: AsyncSession, role_id: uuid.UUID) -> Role:
    role = await session.get(Role, role_id)
    if role is None:
        raise RoleNotFound("No such role", id=str(role_id))
    return role


async def list_roles(session: AsyncSession, params: PageParams) -> tuple[list[Role], int]:
    # System roles first, in their seeded order of power, then custom roles by name.
    query = select(Role).order_by(Role.is_system.desc(), Role.name, Role.id)
    return await paginate(session, query, params)


async def describe(session: AsyncSession, roles: Sequence[Role]) -> list[RoleRead]:
    rows = await session.execute(
        select(User.role_id, func.count())
        .where(User.role_id.in_([r.id for r in roles]))
        .group_by(User.role_id)
    )
    counts: dict[uuid.UUID, int] = dict(rows.all())
    return [
        RoleRead(
            id=r.id,
            name=r.name,
            description=r.description,
            permissions=sorted(r.permissions),
            is_system=r.is_system,
            user_count=counts.get(r.id, 0),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in roles
    ]


def _checked_permissions(requested: list[str], current: list[str], actor: Actor) -> list[str]:
    """Known permissions only (422 listing the others), and an actor grants only what they
    hold (403): otherwise roles:write would be a way to any permission."""
    wanted = sorted(set(requested))
    unknown = [p for p in wanted if p not in ALL_PERMISSIONS]
    if unknown:
        raise UnknownPermissions(unknown)
    not_held = [p for p in wanted if p not in current and not actor.can(p)]
    if not_held:
        raise PermissionNotHeld(
            "You cannot grant permissions you do not hold", permissions=not_held
        )
    return wanted


async def _check_name(session: AsyncSession, name: str, *, exclude: uuid.UUID | None) -> None:
    query = select(Role.id).where(func.lower(Role.name) == name.lower())
    if exclude is not None:
        query = query.where(Role.id != exclude)
    if await session.scalar(query) is not None:
        raise _name_taken(name)


def _refuse_system(role: Role, verb: str) -> None:
    if role.is_system:
        raise SystemRole(f"The seeded role {role.name!r} cannot be {verb}", role=role.name)


async def create(session: AsyncSession, data: RoleCreate, *, actor: Actor) -> Role:
    permissions = _checked_permissions(data.permissions, [], actor)
    await _check_name(session, data.name, exclude=None)
    role = Role(name=data.name, description=data.description, permissions=permissions)
    unique = {"uq_roles_name": lambda: _name_taken(data.name)}
    return await crud.create(
        session, actor, "role.create", RESOURCE, role, fields=FIELDS, errors=unique
    )


async def update(session: AsyncSession, role: Role, data: RoleUpdate, *, actor: Actor) -> Role:
    _refuse_system(role, "edited")
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "permissions" in changes:
        changes["permissions"] = _checked_permissions(
            changes["permissions"], role.permissions, actor
        )
    if "name" in changes and changes["name"] != role.name:
        await _check_name(session, changes["name"], exclude=role.id)
    unique = {"uq_roles_name": lambda: _name_taken(changes["name"])}
    return await crud.update(
        session, actor, "role.update", RESOURCE, role, changes, fields=FIELDS, errors=unique
    )


async def delete(session: AsyncSession, role: Role, *, actor: Actor) -> None:
    _refuse_system(role, "deleted")
    users = await session.scalar(
        select(func.count()).select_from(User).where(User.role_id == role.id)
    )
    if users:
        raise RoleInUse(
            f"{users} user(s) still have this role; give them another first", user_count=users
        )
    in_use = {
        "fk_users_role_id_roles": lambda: RoleInUse(
            "Users were given this role meanwhile; give them another first"
        )
    }
    await crud.delete(session, actor, "role.delete", RESOURCE, role, fields=FIELDS, errors=in_use)
