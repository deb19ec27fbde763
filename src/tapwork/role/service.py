from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.role.models import Role
from tapwork.role.permissions import SYSTEM_ROLES


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
