"""seed-demo against the test database with real commits: the organisation, then idempotence."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import time

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from rich.console import Console
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.badge.models import Badge
from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.devstack.demo import seed_demo
from tapwork.holiday.models import Holiday
from tapwork.kiosk.models import Kiosk
from tapwork.kit.security import hash_token
from tapwork.location.models import Location
from tapwork.shift.models import Shift
from tapwork.user.models import User

EMPLOYEES = 12


@pytest.fixture(autouse=True)
async def _drop_new_badge_keys(engine: AsyncEngine) -> AsyncIterator[None]:
    """Issuing badges commits the first signing key; committed_db does not clean that table,
    and other tests expect to start without one."""
    async with engine.connect() as conn:
        before = set((await conn.scalars(text("SELECT kid FROM badge_keys"))).all())
    yield
    async with engine.begin() as conn:
        kids = set((await conn.scalars(text("SELECT kid FROM badge_keys"))).all()) - before
        if kids:
            params = {"kids": list(kids)}
            await conn.execute(text("DELETE FROM badges WHERE kid = ANY(:kids)"), params)
            await conn.execute(text("DELETE FROM badge_keys WHERE kid = ANY(:kids)"), params)


async def _run(settings: Settings) -> str:
    out = io.StringIO()
    await seed_demo(settings, employees=EMPLOYEES, console=Console(file=out, width=200))
    return out.getvalue()


async def _counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for model in (User, Department, Shift, Location, Holiday, Kiosk, Badge):
        counts[model.__tablename__] = (
            await session.scalar(select(func.count()).select_from(model)) or 0
        )
    return counts


def _password_of(output: str, email: str) -> str:
    # Only the table's spaces and rules lie between: a URL-safe password may begin with "-",
    # which `\W+` took as part of the gap (1 run in 64 read the password one character short).
    match = re.search(re.escape(email) + r"[\s│]+(\S+)", output)
    assert match, output
    return match.group(1)


async def test_seed_demo_builds_the_organisation(
    committed_db: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    output = await _run(settings)

    async with committed_db() as session:
        departments = (await session.scalars(select(Department))).all()
        assert {d.name for d in departments} == {
            "Engineering", "Operations", "Sales", "Support", "HR",
        }  # fmt: skip
        for department in departments:
            manager = await session.get(User, department.manager_id)
            assert manager is not None
            assert manager.role.name == "supervisor"
            assert manager.department_id == department.id

        shifts = {s.name: s for s in (await session.scalars(select(Shift))).all()}
        assert (shifts["Night"].start_time, shifts["Night"].end_time) == (time(22), time(6))
        assert shifts["Weekend"].working_days == [6, 7]
        zones = set((await session.scalars(select(Location.timezone))).all())
        assert zones == {"Europe/Madrid", "America/New_York"}

        users = (await session.scalars(select(User))).all()
        assert len(users) == EMPLOYEES + 5 + 2
        assert sum(u.role.name == "employee" for u in users) == EMPLOYEES
        assert len({u.email for u in users}) == len(users)
        assert all(u.is_active and u.email_verified_at for u in users)
        assert await session.scalar(select(func.count()).select_from(Badge)) == len(users)
        assert (await session.scalar(select(func.count()).select_from(Holiday)) or 0) >= 12

        admin = await session.scalar(select(User).where(User.email == "admin@example.com"))
        assert admin is not None
        assert admin.role.name == "admin"
        assert sum(u.role.name == "hr_manager" for u in users) == 1
        hasher = PasswordHash((Argon2Hasher(),))
        assert hasher.verify(_password_of(output, "admin@example.com"), admin.password_hash or "")

        tokens = re.findall(r"X-Kiosk-Token\): (\S+)", output)
        assert len(tokens) == 2
        kiosk_hashes = set((await session.scalars(select(Kiosk.token_hash))).all())
        assert {hash_token(t) for t in tokens} == kiosk_hashes


async def test_seed_demo_is_idempotent(
    committed_db: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await _run(settings)
    async with committed_db() as session:
        before = await _counts(session)
        admin_hash = await session.scalar(
            select(User.password_hash).where(User.email == "admin@example.com")
        )

    again = await _run(settings)

    async with committed_db() as session:
        assert await _counts(session) == before
        assert admin_hash == await session.scalar(
            select(User.password_hash).where(User.email == "admin@example.com")
        )
    assert "nothing (all there)" in again
    assert "X-Kiosk-Token" not in again
    assert re.search(r"admin@example\.com\W+unchanged", again)
