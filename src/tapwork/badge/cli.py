"""`tapwork badges ...`: key rotation and printable badge sheets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import select

from tapwork.audit import service as audit
from tapwork.badge import keys, sheet
from tapwork.badge import service as badge_service
from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker, unit_of_work
from tapwork.department.models import Department
from tapwork.kit.actor import Actor
from tapwork.kit.clock import utcnow

app = typer.Typer(help="Badges: signing keys and printable ID cards.", no_args_is_help=True)
console = Console()
CLI_ACTOR = Actor(type="system", id=None, label="cli:badges")


class CliFailure(Exception):
    """A user-facing failure: printed in red, exit code 1."""


async def rotate_key(settings: Settings) -> tuple[str | None, str]:
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            now = utcnow()
            old, new = await keys.rotate(session, now=now)
            await audit.record(
                session, CLI_ACTOR, "badge_key.rotate", "badge_key", new, old={"kid": old}
            )
        return old, new
    finally:
        await engine.dispose()


async def list_keys(settings: Settings) -> list[tuple[str, bool, str, str]]:
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            return [
                (
                    k.kid,
                    k.is_active,
                    k.created_at.isoformat(),
                    k.retired_at.isoformat() if k.retired_at else "",
                )
                for k in await keys.list_keys(session)
            ]
    finally:
        await engine.dispose()


async def print_badges(
    settings: Settings,
    *,
    department: str | None,
    employee_ids: list[str],
    out: Path,
    console: Console,
) -> int:
    """Write the sheet to `out`; returns the number of cards. Issues missing badges."""
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        # Badges issued for the sheet must exist (committed) before the paper does.
        async with unit_of_work(create_sessionmaker(engine)) as session:
            department_id = None
            if department is not None:
                department_id = await session.scalar(
                    select(Department.id).where(Department.name == department)
                )
                if department_id is None:
                    raise CliFailure(f"No department named {department!r}")
            cards = await badge_service.cards_for(
                session,
                department_id=department_id,
                employee_ids=employee_ids,
                now=utcnow(),
                settings=settings,
            )
            found = {c.employee_id for c in cards}
            missing = [e for e in employee_ids if e not in found]
            if missing:
                raise CliFailure(f"Unknown or inactive employee ids: {', '.join(missing)}")
    finally:
        await engine.dispose()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("Drawing cards", total=len(cards))
        pdf = sheet.build_sheet(cards, on_card=lambda _: progress.advance(task))
    await asyncio.to_thread(out.write_bytes, pdf)
    return len(cards)


@app.command("rotate-key")
def rotate_key_command() -> None:
    """Start signing new badges with a new key id. Badges signed with older ids stay valid."""
    old, new = asyncio.run(rotate_key(Settings()))
    console.print(f"[green]Active key id: {new}[/green]" + (f" (retired {old})" if old else ""))


@app.command("keys")
def keys_command() -> None:
    """List signing key ids (the keys themselves are derived from BADGE_SECRET)."""
    table = Table("kid", "active", "created", "retired")
    for kid, active, created, retired in asyncio.run(list_keys(Settings())):
        table.add_row(kid, "yes" if active else "", created, retired)
    console.print(table)


@app.command("print")
def print_command(
    out: Annotated[Path, typer.Option("--out", help="PDF file to write", dir_okay=False)],
    department: Annotated[
        str | None, typer.Option(help="every active member of this department (by name)")
    ] = None,
    user: Annotated[
        list[str] | None, typer.Option("--user", help="an employee id (repeatable)")
    ] = None,
) -> None:
    """Print ID cards (name, employee id, department, QR, Code128), ten per A4 page."""
    employee_ids = list(user or [])
    if department is None and not employee_ids:
        console.print("[red]Give --department NAME or at least one --user EMPLOYEE_ID[/red]")
        raise typer.Exit(2)
    try:
        count = asyncio.run(
            print_badges(
                Settings(),
                department=department,
                employee_ids=employee_ids,
                out=out,
                console=console,
            )
        )
    except CliFailure as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]{count} badge(s) written to {out}[/green]")
