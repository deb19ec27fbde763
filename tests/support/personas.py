"""Personas as fixtures: employee, supervisor (manages one department), hr, admin, and an
outsider from another department. `org` builds them all once per test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.kiosk.models import Kiosk
from tapwork.kit.security import hash_token, new_token
from tapwork.location.models import Location
from tapwork.shift.models import Shift
from tapwork.user.models import User
from tests.support import factories as f
from tests.support.clock import FrozenClock


@dataclass
class Org:
    location: Location
    shift: Shift
    department: Department  # managed by `supervisor`; `employee` works here
    other_department: Department  # `outsider` works here
    employee: User
    supervisor: User
    hr: User
    admin: User
    outsider: User
    settings: Settings
    clock: FrozenClock

    def headers(self, user: User) -> dict[str, str]:
        return f.bearer(user, self.settings, self.clock())

    def persona(self, name: str) -> User:
        user: User = getattr(self, name)
        return user


PERSONAS = ("employee", "supervisor", "hr", "admin", "outsider")


@pytest.fixture
async def org(session: AsyncSession, settings: Settings, clock: FrozenClock) -> Org:
    location = await f.make_location(session, name="Madrid HQ", timezone="Europe/Madrid")
    shift = await f.make_shift(session, name="Day")
    department = await f.make_department(session, name="Engineering")
    other = await f.make_department(session, name="Sales")
    supervisor = await f.make_user(
        session,
        role_name="supervisor",
        department=department,
        shift=shift,
        location=location,
        first_name="Sam",
    )
    department.manager_id = supervisor.id
    employee = await f.make_user(
        session, department=department, shift=shift, location=location, first_name="Eve"
    )
    hr = await f.make_user(session, role_name="hr_manager", department=other, first_name="Hana")
    admin = await f.make_user(session, role_name="admin", first_name="Alex")
    outsider = await f.make_user(
        session, department=other, shift=shift, location=location, first_name="Olga"
    )
    await session.flush()
    return Org(
        location=location,
        shift=shift,
        department=department,
        other_department=other,
        employee=employee,
        supervisor=supervisor,
        hr=hr,
        admin=admin,
        outsider=outsider,
        settings=settings,
        clock=clock,
    )


@pytest.fixture
async def kiosk(session: AsyncSession, org: Org) -> tuple[Kiosk, str]:
    """A paired kiosk at the org's location and its device token."""
    token = new_token()
    kiosk = Kiosk(
        name="Front door",
        location_id=org.location.id,
        token_hash=hash_token(token),
        paired_at=org.clock(),
    )
    session.add(kiosk)
    await session.flush()
    return kiosk, token


@pytest.fixture
def kiosk_headers(kiosk: tuple[Kiosk, str]) -> dict[str, str]:
    """Kiosks authenticate with their device token in `X-Kiosk-Token`."""
    return {"X-Kiosk-Token": kiosk[1]}
