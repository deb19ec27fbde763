"""Plain async factories for arranging tests. Each flushes, so ids exist; none commits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.kit.security import encode_access_token
from tapwork.location.models import Location
from tapwork.role.models import Role
from tapwork.shift.models import Shift
from tapwork.user.models import User

PASSWORD = "correct horse battery staple"
_hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))
_PASSWORD_HASH = _hasher.hash(PASSWORD)
_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_seq)}"


async def role(session: AsyncSession, name: str) -> Role:
    found = await session.scalar(select(Role).where(Role.name == name))
    assert found is not None, f"role {name} is not seeded"
    return found


async def make_location(
    session: AsyncSession, *, name: str | None = None, timezone: str = "Europe/Madrid"
) -> Location:
    location = Location(name=name or unique("Site "), timezone=timezone)
    session.add(location)
    await session.flush()
    return location


async def make_shift(
    session: AsyncSession,
    *,
    name: str | None = None,
    start: time = time(9, 0),
    end: time = time(17, 0),
    grace_minutes: int = 5,
    early_threshold_minutes: int = 30,
    working_days: list[int] | None = None,
) -> Shift:
    shift = Shift(
        name=name or unique("Shift "),
        start_time=start,
        end_time=end,
        grace_minutes=grace_minutes,
        early_threshold_minutes=early_threshold_minutes,
        working_days=working_days or [1, 2, 3, 4, 5],
    )
    session.add(shift)
    await session.flush()
    return shift


async def make_department(
    session: AsyncSession, *, name: str | None = None, manager: User | None = None
) -> Department:
    department = Department(
        name=name or unique("Department "), manager_id=manager.id if manager else None
    )
    session.add(department)
    await session.flush()
    return department


async def make_user(
    session: AsyncSession,
    *,
    role_name: str = "employee",
    department: Department | None = None,
    shift: Shift | None = None,
    location: Location | None = None,
    email: str | None = None,
    password_hash: str | None = _PASSWORD_HASH,
    verified: bool = True,
    active: bool = True,
    first_name: str = "Ada",
    last_name: str | None = None,
) -> User:
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.com",
        employee_id=f"E{n:05d}",
        first_name=first_name,
        last_name=last_name or f"Tester{n}",
        password_hash=password_hash,
        role=await role(session, role_name),
        department_id=department.id if department else None,
        shift_id=shift.id if shift else None,
        location_id=location.id if location else None,
        is_active=active,
        email_verified_at=datetime(2026, 1, 1, tzinfo=UTC) if verified else None,
    )
    session.add(user)
    await session.flush()
    return user


def bearer(user: User, settings: Settings, now: datetime) -> dict[str, str]:
    """Authorization headers for `user`, as if they had just signed in."""
    token = encode_access_token(
        secret=settings.jwt_secret.get_secret_value(),
        user_id=user.id,
        role=user.role.name,
        now=now - timedelta(seconds=1),
        ttl=timedelta(minutes=settings.access_token_minutes),
    )
    return {"Authorization": f"Bearer {token}"}
