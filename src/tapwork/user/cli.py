"""`tapwork import-users FILE`: the CSV import with a progress bar and an error table."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker, unit_of_work
from tapwork.errors import AppError
from tapwork.kit.actor import Actor
from tapwork.kit.clock import utcnow
from tapwork.permissions import ALL_PERMISSIONS
from tapwork.user import importer
from tapwork.user.errors import ImportInvalid

CLI_ACTOR = Actor(type="system", id=None, label="cli:import-users", permissions=ALL_PERMISSIONS)

EXIT_OK = 0
EXIT_INVALID = 1  # nothing imported
EXIT_UNREADABLE = 2


def _error_table(errors: list[dict[str, object]], *, limit: int = 200) -> Table:
    table = Table(title="Problems", show_lines=False)
    table.add_column("row", justify="right")
    table.add_column("field")
    table.add_column("message")
    for error in errors[:limit]:
        table.add_row(str(error["row"]), str(error["field"]), str(error["message"]))
    if len(errors) > limit:
        table.caption = f"… and {len(errors) - limit} more"
    return table


async def import_users(
    settings: Settings, file: Path, *, skip_invalid: bool, console: Console
) -> int:
    """Import `file`; the exit code: 0 imported, 1 invalid rows (nothing imported),
    2 unreadable file. Invitations go to the users it creates."""
    data = await asyncio.to_thread(file.read_bytes)
    if len(data) > settings.max_import_bytes:
        console.print(
            f"[red]{file} is larger than MAX_IMPORT_BYTES ({settings.max_import_bytes})[/red]"
        )
        return EXIT_UNREADABLE
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
    )
    tasks: dict[str, TaskID] = {}

    def report(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            label = "Validating rows" if phase == "validate" else "Importing users"
            tasks[phase] = progress.add_task(label, total=total)
        progress.update(tasks[phase], completed=done, total=total)

    try:
        with progress:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                result = await importer.run(
                    session,
                    data,
                    actor=CLI_ACTOR,
                    settings=settings,
                    now=utcnow(),
                    skip_invalid=skip_invalid,
                    invited_by="TAPWORK",
                    progress=report,
                )
    except ImportInvalid as exc:
        errors = exc.details["errors"]
        console.print(_error_table(errors))
        if exc.details.get("rows", 0) == 0:
            console.print("[red]The file cannot be imported.[/red]")
            return EXIT_UNREADABLE
        console.print(
            f"[red]{len({e['row'] for e in errors})} invalid row(s); nothing was imported.[/red] "
            "Fix them, or pass --skip-invalid to import the good rows."
        )
        return EXIT_INVALID
    except AppError as exc:
        console.print(f"[red]{exc.message}[/red]")
        return EXIT_INVALID
    finally:
        await engine.dispose()
    if result.errors:
        console.print(_error_table([e.model_dump() for e in result.errors]))
    console.print(
        f"[green]Created {result.created}, updated {result.updated}, "
        f"skipped {result.skipped}.[/green]"
    )
    return EXIT_OK
