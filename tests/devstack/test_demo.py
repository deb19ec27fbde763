"""seed-demo against the test database with real commits: the organisation, then idempotence."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from rich.console import Console
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.audit.models import AuditLog
from tapwork.badge.models import Badge
from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.devstack.demo import seed_demo
from tapwork.holiday.models import Holiday
from tapwork.kiosk.models import Kiosk
from tapwork.kiosk.service import normalize_pairing_code
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
    for model in (User, Department, Shift, Location, Holiday, Kiosk, Badge, AttendanceRecord):
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

        # Pairing codes, which the Scanner App takes (it cannot use a raw device token).
        codes = re.findall(r"pairing code: (\S+)", output)
        assert len(codes) == 2
        kiosks = (await session.scalars(select(Kiosk))).all()
        assert {hash_token(normalize_pairing_code(c)) for c in codes} == {
            k.pairing_code_hash for k in kiosks
        }
        assert all(k.token_hash is None for k in kiosks)

        # A month of history: on time, late, absent, overtime, the night shift, a correction
        # and an offline scan held for review.
        records = (await session.scalars(select(AttendanceRecord))).all()
        statuses = {r.status for r in records}
        assert {"on_time", "late"} <= statuses
        days = {r.work_date for r in records}
        assert max(days) - min(days) >= timedelta(days=28)
        assert any((r.overtime_minutes or 0) > 30 for r in records)
        night = shifts["Night"].id
        zone = {loc.id: ZoneInfo(loc.timezone) for loc in await session.scalars(select(Location))}
        assert any(  # a night shift ends on the next local day, and belongs to the first
            r.shift_id == night
            and r.check_out_at
            and r.location_id
            and r.check_out_at.astimezone(zone[r.location_id]).date() > r.work_date
            for r in records
        )
        assert "absences" in output
        assert re.search(r"[1-9]\d* absences", output)
        corrected = await session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "attendance.correction_update")
        )
        assert corrected == 1
        held = await session.scalar(
            select(func.count()).select_from(ScanEvent).where(ScanEvent.review_status == "pending")
        )
        assert held == 1


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
    assert "A month of attendance" not in again  # the history is written once
    # Kiosks still waiting to be paired get a fresh code (each is shown once).
    assert len(re.findall(r"pairing code: (\S+)", again)) == 2
    assert re.search(r"admin@example\.com\W+unchanged", again)
