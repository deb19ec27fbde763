"""`tapwork create-admin`: the first administrator, or promoting an existing account."""

from __future__ import annotations

import uuid

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import service as audit
from tapwork.auth import password as password_policy
from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker, unit_of_work
from tapwork.kit.actor import Actor
from tapwork.kit.clock import utcnow
from tapwork.kit.security import PasswordHasher
from tapwork.kit.types import Email, EmployeeId, Name
from tapwork.permissions import ALL_PERMISSIONS
from tapwork.role import service as role_service
from tapwork.user import service as user_service
from tapwork.user.models import User

CLI_ACTOR = Actor(type="system", id=None, label="cli:create-admin", permissions=ALL_PERMISSIONS)


class _AdminInput(BaseModel):
    email: Email
    first_name: Name
    last_name: Name
    employee_id: EmployeeId


def _validated(email: str, first_name: str, last_name: str, employee_id: str) -> _AdminInput:
    try:
        return _AdminInput(
            email=email, first_name=first_name, last_name=last_name, employee_id=employee_id
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise typer.BadParameter(f"{first['loc'][0]}: {first['msg']}") from exc


async def ensure_admin(
    session: AsyncSession,
    data: _AdminInput,
    password_hash: str,
) -> tuple[User, bool]:
    """Create or promote; (user, created). Flushes, never commits."""
    now = utcnow()
    await role_service.sync_system_roles(session)  # a fresh database may not have them yet
    admin_role = await role_service.get_by_name(session, "admin")
    assert admin_role is not None
    user = await session.scalar(select(User).where(User.email == data.email))
    if user is None:
        clash = await session.scalar(select(User.id).where(User.employee_id == data.employee_id))
        if clash is not None:
            raise typer.BadParameter(
                f"employee_id {data.employee_id} belongs to another user; pass --employee-id"
            )
        user = User(
            id=uuid.uuid4(),
            email=data.email,
            employee_id=data.employee_id,
            first_name=data.first_name,
            last_name=data.last_name,
            role=admin_role,
            password_hash=password_hash,
            password_changed_at=now,
            email_verified_at=now,
            is_active=True,
            notification_preferences={},
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        await session.flush()
        await audit.record(
            session,
            CLI_ACTOR,
            "user.create",
            "user",
            user.id,
            new=user_service.audit_snapshot(user),
        )
        return user, True
    old = user_service.audit_snapshot(user)
    user.role = admin_role
    user.password_hash = password_hash
    user.password_changed_at = now
    user.email_verified_at = user.email_verified_at or now
    user.is_active = True
    user_service.touch(user, now)
    # A new password: sessions opened with the old one end.
    await user_service.end_sessions(session, user, now=now)
    await session.flush()
    before, after = audit.changed(old, user_service.audit_snapshot(user))
    await audit.record(session, CLI_ACTOR, "user.promote", "user", user.id, old=before, new=after)
    return user, False


async def create_admin(
    settings: Settings,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    employee_id: str,
) -> None:
    """Create (or promote) an administrator with a verified email and the given password."""
    data = _validated(email, first_name, last_name, employee_id)
    password = password_policy.normalise(password)
    problem = password_policy.problem(password, email=data.email, settings=settings)
    if problem:
        raise typer.BadParameter(f"password {problem}")
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
    )
    password_hash = await hasher.hash(password)
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await ensure_admin(session, data, password_hash)
    finally:
        await engine.dispose()
