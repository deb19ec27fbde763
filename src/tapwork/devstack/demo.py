"""`tapwork seed-demo`: a realistic organisation to click through, in one transaction.

Idempotent: every row is looked up by its natural key (department, shift and location names,
holiday date and place, employee id, kiosk name) and only created when missing; existing rows,
passwords included, are left as they are. Passwords are generated and printed once, when their
account is created: the administrator and the HR manager get their own, everybody else shares
one demo password (hashed once, so fifty accounts do not cost fifty argon2 hashes).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.badge import service as badge_service
from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker, unit_of_work
from tapwork.department.models import Department
from tapwork.devstack.demo_history import History, fill_history
from tapwork.holiday.models import Holiday
from tapwork.kiosk import service as kiosk_service
from tapwork.kiosk.models import Kiosk
from tapwork.kit.actor import SYSTEM
from tapwork.kit.clock import utcnow
from tapwork.kit.security import PasswordHasher
from tapwork.location.models import Location
from tapwork.role import service as role_service
from tapwork.role.models import Role
from tapwork.shift.models import Shift
from tapwork.user.models import User

EMAIL_DOMAIN = "example.com"
MADRID, NEW_YORK = "Madrid HQ", "New York Office"
LOCATIONS = {
    MADRID: ("Europe/Madrid", "Paseo de la Castellana 89, 28046 Madrid"),
    NEW_YORK: ("America/New_York", "350 Fifth Avenue, New York, NY 10118"),
}
WEEKDAYS, WEEKEND = [1, 2, 3, 4, 5], [6, 7]
# name: (start, end, working days); end before start crosses midnight.
SHIFTS = {
    "Day": (time(9, 0), time(17, 0), WEEKDAYS),
    "Early": (time(7, 0), time(15, 0), WEEKDAYS),
    "Night": (time(22, 0), time(6, 0), WEEKDAYS),
    "Weekend": (time(10, 0), time(18, 0), WEEKEND),
}
# department: (description, manager first, last, home location, shifts its people work)
DEPARTMENTS = {
    "Engineering": ("Builds and runs the product", "Elena", "Navarro", MADRID, ["Day"]),
    "Operations": ("Warehouse and logistics", "Marcus", "Reed", NEW_YORK, ["Early", "Night"]),
    "Sales": ("Customers and partners", "Sofía", "Romero", MADRID, ["Day"]),
    "Support": ("Help desk, seven days a week", "Daniel", "Brooks", NEW_YORK, ["Day", "Weekend"]),
    "HR": ("People, payroll and policies", "Carmen", "Ortega", MADRID, ["Day"]),
}
FIRST_NAMES = [
    "Lucía", "Hugo", "Martina", "Pablo", "Valeria", "Álvaro", "Paula", "Javier", "Irene",
    "Mateo", "Nerea", "Diego", "Claudia", "Sergio", "Alba", "Emily", "James", "Olivia",
    "Michael", "Ava", "Ethan", "Grace", "Noah", "Chloe", "Ryan", "Maya", "Tyler", "Zoe",
    "Omar", "Priya", "Kenji", "Amara",
]  # fmt: skip
LAST_NAMES = [
    "García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Díaz",
    "Moreno", "Muñoz", "Álvarez", "Ruiz", "Johnson", "Williams", "Miller", "Davis",
    "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Clark", "Lewis", "Walker", "Hall",
    "Young", "Patel", "Nguyen", "Okafor", "Tanaka",
]  # fmt: skip
KIOSKS = {"Madrid HQ entrance": MADRID, "New York lobby": NEW_YORK}


@dataclass
class Credential:
    role: str
    email: str
    password: str | None  # None: the account existed, its password is unchanged


def _ascii_local(*parts: str) -> str:
    table = str.maketrans("áéíóúüñÁÉÍÓÚÜÑ", "aeiouunAEIOUUN")
    return ".".join(p.translate(table).lower() for p in parts)


def _employee_names(count: int) -> list[tuple[str, str]]:
    # A fixed walk through the name lists (coprime strides): the same names on every run.
    return [
        (FIRST_NAMES[(i * 7) % len(FIRST_NAMES)], LAST_NAMES[(i * 11 + i // 30) % len(LAST_NAMES)])
        for i in range(count)
    ]


def _holidays(year: int) -> list[tuple[date, str, str | None]]:
    november = date(year, 11, 1)
    thanksgiving = november + timedelta(days=(3 - november.weekday()) % 7 + 21)
    return [
        (date(year, 1, 1), "New Year's Day", None),
        (date(year, 5, 15), "San Isidro", MADRID),
        (date(year, 7, 4), "Independence Day", NEW_YORK),
        (date(year, 10, 12), "Fiesta Nacional de España", MADRID),
        (thanksgiving, "Thanksgiving Day", NEW_YORK),
        (date(year, 12, 25), "Christmas Day", None),
    ]


class _Seeder:
    def __init__(self, session: AsyncSession, settings: Settings, now: datetime) -> None:
        self.session, self.settings, self.now = session, settings, now
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
        )
        self.roles: dict[str, Role] = {}
        self.created: dict[str, int] = {}
        self._shared: tuple[str, str] | None = None  # (password, hash), made on first need

    def count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    async def get_or_add(
        self, model: type[Any], kind: str, where: dict[str, Any], **values: Any
    ) -> Any:
        row = await self.session.scalar(select(model).filter_by(**where))
        if row is None:
            row = model(**where, **values)
            self.session.add(row)
            await self.session.flush()
            self.count(kind)
        return row

    async def shared_password(self) -> tuple[str, str]:
        if self._shared is None:
            password = secrets.token_urlsafe(12)
            self._shared = (password, await self.hasher.hash(password))
        return self._shared

    async def user(
        self,
        employee_id: str,
        first: str,
        last: str,
        *,
        role: str,
        department: Department | None,
        location: Location,
        shift: Shift,
        email: str | None = None,
        own_password: bool = False,
    ) -> tuple[User, str | None]:
        """(user, the password when it was created now)."""
        found = await self.session.scalar(select(User).where(User.employee_id == employee_id))
        if found is not None:
            return found, None
        if own_password:
            password = secrets.token_urlsafe(15)
            password_hash = await self.hasher.hash(password)
        else:
            password, password_hash = await self.shared_password()
        address = email or f"{_ascii_local(first, last)}@{EMAIL_DOMAIN}"
        if await self.session.scalar(select(User.id).where(User.email == address)):
            address = f"{_ascii_local(first, last)}.{employee_id.lower()}@{EMAIL_DOMAIN}"
        user = User(
            employee_id=employee_id,
            email=address,
            first_name=first,
            last_name=last,
            password_hash=password_hash,
            role=self.roles[role],
            department_id=department.id if department else None,
            location_id=location.id,
            shift_id=shift.id,
            email_verified_at=self.now,
            password_changed_at=self.now,
        )
        self.session.add(user)
        await self.session.flush()
        await badge_service.ensure_active(self.session, user, now=self.now, settings=self.settings)
        self.count("users")
        return user, password


async def _seed(
    session: AsyncSession, settings: Settings, employees: int, console: Console
) -> tuple[list[Credential], dict[str, int], dict[str, str], History | None]:
    now = utcnow()
    seeder = _Seeder(session, settings, now)
    await role_service.sync_system_roles(session)
    seeder.roles = {r.name: r for r in (await session.scalars(select(Role))).all()}

    locations = {
        name: await seeder.get_or_add(
            Location, "locations", {"name": name}, timezone=tz, address=address
        )
        for name, (tz, address) in LOCATIONS.items()
    }
    shifts = {
        name: await seeder.get_or_add(
            Shift, "shifts", {"name": name}, start_time=start, end_time=end, working_days=days
        )
        for name, (start, end, days) in SHIFTS.items()
    }
    for year in (now.year, now.year + 1):
        for day, name, place in _holidays(year):
            location_id = locations[place].id if place else None
            await seeder.get_or_add(
                Holiday,
                "holidays",
                {"holiday_date": day, "location_id": location_id},
                name=name,
            )

    credentials: list[Credential] = []
    departments: dict[str, Department] = {}
    for index, (name, (description, first, last, home, _)) in enumerate(DEPARTMENTS.items()):
        department = await seeder.get_or_add(
            Department, "departments", {"name": name}, description=description
        )
        manager, password = await seeder.user(
            f"DEMO-M{index + 1:02d}", first, last, role="supervisor", department=department,
            location=locations[home], shift=shifts["Day"],
        )  # fmt: skip
        if department.manager_id is None:
            department.manager_id = manager.id
        departments[name] = department
        credentials.append(Credential(f"supervisor ({name})", manager.email, password))

    hr_user, hr_password = await seeder.user(
        "DEMO-HR01", "Laura", "Jiménez", role="hr_manager", department=departments["HR"],
        location=locations[MADRID], shift=shifts["Day"], own_password=True,
    )  # fmt: skip
    admin, admin_password = await seeder.user(
        "DEMO-ADMIN", "Alex", "Morgan", role="admin", department=None,
        location=locations[MADRID], shift=shifts["Day"], email=f"admin@{EMAIL_DOMAIN}",
        own_password=True,
    )  # fmt: skip
    credentials[:0] = [
        Credential("admin", admin.email, admin_password),
        Credential("hr_manager", hr_user.email, hr_password),
    ]

    names = list(DEPARTMENTS)
    people: list[User] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Employees", total=employees)
        for i, (first, last) in enumerate(_employee_names(employees)):
            department_name = names[i % len(names)]
            _, _, _, home, shift_names = DEPARTMENTS[department_name]
            other = NEW_YORK if home == MADRID else MADRID
            user, password = await seeder.user(
                f"DEMO-{i + 1:04d}", first, last, role="employee",
                department=departments[department_name],
                location=locations[home if i % 4 else other],
                shift=shifts[shift_names[i % len(shift_names)]],
            )  # fmt: skip
            if i == 0:
                credentials.append(Credential("employee", user.email, password))
            people.append(user)
            progress.advance(task)

    # Kiosks wait to be paired: the Scanner App takes a pairing code, not a raw device token.
    # A kiosk not yet paired gets a fresh code on every run (a code is shown once, 15 min).
    pairing_codes: dict[str, str] = {}
    for kiosk_name, place in KIOSKS.items():
        kiosk = await session.scalar(select(Kiosk).where(Kiosk.name == kiosk_name))
        if kiosk is None:
            kiosk = Kiosk(name=kiosk_name, location_id=locations[place].id)
            session.add(kiosk)
            await session.flush()
            seeder.count("kiosks")
        if kiosk.token_hash is None and kiosk.revoked_at is None:
            pairing_codes[kiosk_name] = await kiosk_service.reissue_pairing_code(
                session, kiosk, actor=SYSTEM, now=now, settings=settings
            )
    await session.flush()
    with Progress(console=console, transient=True) as progress:
        history = await fill_history(session, people, hr=hr_user, now=now, progress=progress)
    return credentials, seeder.created, pairing_codes, history


async def seed_demo(settings: Settings, *, employees: int = 50, console: Console) -> None:
    """Create the demo organisation (what is missing of it) and print how to sign in."""
    engine = create_engine(settings)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            credentials, created, pairing_codes, history = await _seed(
                session, settings, employees, console
            )
    finally:
        await engine.dispose()

    summary = ", ".join(f"{n} {kind}" for kind, n in created.items()) or "nothing (all there)"
    console.print(
        f"[green]Demo organisation ready.[/] Created: {summary}", highlight=False, soft_wrap=True
    )
    table = Table(title="Demo accounts (passwords are shown only when an account is created)")
    for column in ("role", "email", "password"):
        table.add_column(column, no_wrap=True)
    for cred in credentials:
        table.add_row(cred.role, cred.email, cred.password or "[dim]unchanged[/]")
    console.print(table)
    console.print(
        "Every supervisor and employee created together shares one password; "
        f"employees are DEMO-0001…DEMO-{employees:04d} at {EMAIL_DOMAIN}.",
        highlight=False,
        soft_wrap=True,
    )
    if history is not None:
        console.print(
            f"A month of attendance: {history.records} records ({history.late} late, "
            f"{history.overtime} with overtime, {history.absent} absences, {history.open_now} "
            f"checked in now), {history.corrected} corrected by HR, {history.held} offline scan "
            "held for review.",
            highlight=False,
            soft_wrap=True,
        )
    for name, code in pairing_codes.items():
        # soft_wrap: a code broken over two lines cannot be copied.
        console.print(
            f"Kiosk [bold]{name}[/] pairing code: [bold]{code}[/] (open "
            f"{settings.public_url}/ on the kiosk and type it within "
            f"{settings.kiosk_pairing_minutes} min; the portal's Kiosks page makes new ones)",
            soft_wrap=True,
            highlight=False,
        )
