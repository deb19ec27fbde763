"""The CLI entry points against the test database, with real commits."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import typer
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.audit.models import AuditLog
from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.kit.security import PasswordHasher
from tapwork.notification.models import OutboxEmail
from tapwork.role.models import Role
from tapwork.user.admin import create_admin
from tapwork.user.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, import_users
from tapwork.user.models import User

HEADER = "email,employee_id,first_name,last_name,department,role\n"
GOOD_ROWS = "cli1@example.com,CLI-1,Cleo,One,Ops,\ncli2@example.com,CLI-2,Cal,Two,Ops,supervisor\n"


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120, force_terminal=False, color_system=None), out


@pytest.fixture
async def ops(committed_db: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    async with committed_db() as session:
        session.add(Department(name="Ops"))
        await session.commit()
    return committed_db


async def _users(maker: async_sessionmaker[AsyncSession]) -> dict[str, User]:
    async with maker() as session:
        users = (await session.scalars(select(User))).all()
        return {u.employee_id: u for u in users}


async def test_import_users_commits_and_reports(
    ops: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "people.csv"
    file.write_text(HEADER + GOOD_ROWS, encoding="utf-8")
    console, out = _console()
    code = await import_users(settings, file, skip_invalid=False, console=console)
    assert code == EXIT_OK, out.getvalue()
    output = out.getvalue()
    assert "Validating rows" in output
    assert "Importing users" in output
    assert "Created 2, updated 0, skipped 0" in output
    users = await _users(ops)
    assert set(users) == {"CLI-1", "CLI-2"}
    assert users["CLI-2"].role.name == "supervisor"
    async with ops() as session:
        mails = await session.scalar(select(func.count()).select_from(OutboxEmail))
        summary = await session.scalar(select(AuditLog).where(AuditLog.action == "user.import"))
    assert mails == 2
    assert summary is not None
    assert summary.actor_type == "system"
    assert summary.actor_label == "cli:import-users"
    # Idempotent: the same file again updates.
    console, out = _console()
    assert await import_users(settings, file, skip_invalid=False, console=console) == EXIT_OK
    assert "Created 0, updated 2" in out.getvalue()


async def test_import_users_invalid_rows_exit_1_and_import_nothing(
    ops: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "people.csv"
    file.write_text(HEADER + GOOD_ROWS + "oops,CLI-3,Bad,Row,Nowhere,\n", encoding="utf-8")
    console, out = _console()
    code = await import_users(settings, file, skip_invalid=False, console=console)
    assert code == EXIT_INVALID
    output = out.getvalue()
    assert "Problems" in output
    assert "department" in output  # checked although the email on that row is bad
    assert "nothing was imported" in output
    assert await _users(ops) == {}

    console, out = _console()
    code = await import_users(settings, file, skip_invalid=True, console=console)
    assert code == EXIT_OK
    assert "Created 2, updated 0, skipped 1" in out.getvalue()
    assert set(await _users(ops)) == {"CLI-1", "CLI-2"}


async def test_import_users_unreadable_file_exit_2(
    ops: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "people.csv"
    file.write_text("name,mail\nA,a@example.com\n", encoding="utf-8")
    console, out = _console()
    assert await import_users(settings, file, skip_invalid=True, console=console) == EXIT_UNREADABLE
    assert "employee_id" in out.getvalue()


async def test_create_admin_creates_then_promotes(
    committed_db: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    password = "a long admin passphrase"
    await create_admin(settings, "Boss@Example.com", password, "Bo", "Ss", "ADM-1")
    users = await _users(committed_db)
    admin = users["ADM-1"]
    assert admin.email == "boss@example.com"
    assert admin.role.name == "admin"
    assert admin.email_verified_at is not None
    assert admin.password_hash is not None
    assert password not in admin.password_hash
    hasher = PasswordHasher(time_cost=1, memory_cost=1024)
    assert (await hasher.verify(password, admin.password_hash))[0]

    # Promoting an existing employee keeps their employee_id and names.
    async with committed_db() as session:
        employee_role = await session.scalar(select(Role).where(Role.name == "employee"))
        assert employee_role is not None
        session.add(
            User(
                email="later@example.com",
                employee_id="EMP-9",
                first_name="Lat",
                last_name="Er",
                role_id=employee_role.id,
            )
        )
        await session.commit()
    await create_admin(settings, "later@example.com", password, "Ignored", "Name", "ADM-1")
    promoted = (await _users(committed_db))["EMP-9"]
    assert promoted.role.name == "admin"
    assert promoted.first_name == "Lat"
    assert promoted.email_verified_at is not None
    assert promoted.sessions_valid_after is not None
    async with committed_db() as session:
        actions = (await session.scalars(select(AuditLog.action).order_by(AuditLog.action))).all()
    assert actions == ["user.create", "user.promote"]


async def test_create_admin_refuses_weak_password(settings: Settings) -> None:
    with pytest.raises(typer.BadParameter, match="password"):
        await create_admin(settings, "boss@example.com", "short", "Bo", "Ss", "ADM-1")
