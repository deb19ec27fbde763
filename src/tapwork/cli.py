"""The `tapwork` command. Commands import their domain lazily so `--help` stays instant."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tapwork.badge.cli import app as badges_app
from tapwork.config import Settings

app = typer.Typer(help="TAPWORK: attendance from signed badges.", no_args_is_help=True)
console = Console()


def _settings() -> Settings:
    return Settings()


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply database migrations, then bring the four system roles up to date."""
    from tapwork.migration.bootstrap import migrate_database

    settings = _settings()
    asyncio.run(migrate_database(settings, revision))
    console.print(f"[green]Database at {revision}[/green]")


@app.command()
def api(
    host: Annotated[str, typer.Option()] = "0.0.0.0",  # noqa: S104 - a container listens on all
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
    reload: Annotated[bool, typer.Option()] = False,
) -> None:
    """Run the HTTP API (uvicorn)."""
    import uvicorn

    uvicorn.run(
        "tapwork.asgi:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        access_log=False,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="jobs run at once")] = 4,
) -> None:
    """Run the background worker: email delivery and periodic jobs."""
    import uvloop

    from tapwork.worker.run import run_worker

    # uvloop, as the API runs under: the delivery loop is mostly event-loop and socket work,
    # which uvloop does in C (bench/README.md, outbox).
    uvloop.run(run_worker(_settings(), concurrency=concurrency))


@app.command()
def up(
    data_dir: Annotated[Path | None, typer.Option(help="where the embedded database lives")] = None,
    demo: Annotated[bool, typer.Option(help="also run seed-demo (idempotent)")] = False,
) -> None:
    """Run the whole stack locally: database, mail catcher, migrations, API, worker, front ends."""
    from tapwork.devstack.stack import run_up

    run_up(data_dir=data_dir, demo=demo)


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    first_name: Annotated[str, typer.Option()] = "Admin",
    last_name: Annotated[str, typer.Option()] = "User",
    employee_id: Annotated[str, typer.Option()] = "ADMIN-1",
) -> None:
    """Create (or promote) an administrator with a verified email."""
    from tapwork.user.admin import create_admin as _create

    asyncio.run(_create(_settings(), email, password, first_name, last_name, employee_id))
    console.print(f"[green]Administrator {email} ready[/green]")


@app.command("seed-demo")
def seed_demo(
    employees: Annotated[int, typer.Option(help="how many employees")] = 50,
) -> None:
    """Fill a realistic demo organisation and print the admin's credentials."""
    from tapwork.devstack.demo import seed_demo as _seed

    asyncio.run(_seed(_settings(), employees=employees, console=console))


@app.command("import-users")
def import_users(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    skip_invalid: Annotated[
        bool, typer.Option(help="import the good rows, report the bad")
    ] = False,
) -> None:
    """Import employees from a CSV file (validates every row first)."""
    from tapwork.user.cli import import_users as _import

    code = asyncio.run(_import(_settings(), file, skip_invalid=skip_invalid, console=console))
    raise typer.Exit(code)


@app.command()
def report(
    kind: Annotated[
        str, typer.Argument(help="attendance, department-summary, timesheet, monthly-sheet")
    ],
    from_date: Annotated[str, typer.Option("--from", help="first local date, YYYY-MM-DD")],
    to_date: Annotated[str, typer.Option("--to", help="last local date, YYYY-MM-DD")],
    output: Annotated[Path, typer.Option(help="file to write")],
    format: Annotated[str, typer.Option(help="json, csv, xlsx or pdf")] = "csv",
    department_id: Annotated[str | None, typer.Option(help="only this department")] = None,
    layout: Annotated[str, typer.Option(help="timesheet CSV: generic, gusto, datev")] = "generic",
    lang: Annotated[str, typer.Option(help="en or es (XLSX/PDF labels)")] = "en",
) -> None:
    """Write a report (the API's figures and formats) to a file, with a progress bar."""
    import uuid
    from datetime import date

    from tapwork.errors import AppError
    from tapwork.report import cli as report_cli
    from tapwork.report.service import Filters

    if kind not in report_cli.KINDS or format not in report_cli.FORMATS:
        raise typer.BadParameter(
            f"kind is one of {report_cli.KINDS}, format of {report_cli.FORMATS}"
        )
    if layout not in ("generic", "gusto", "datev") or lang not in ("en", "es"):
        raise typer.BadParameter("layout is generic, gusto or datev; lang is en or es")
    try:
        filters = Filters(
            date.fromisoformat(from_date),
            date.fromisoformat(to_date),
            uuid.UUID(department_id) if department_id else None,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        count = asyncio.run(
            report_cli.export(
                _settings(), kind, filters, format, output, layout=layout,
                lang="es" if lang == "es" else "en", console=console,
            )
        )  # fmt: skip
    except AppError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    unit = "rows" if format == "csv" else "bytes"
    console.print(f"[green]{kind}: {count} {unit} written to {output}[/green]")


# Domain command groups (`tapwork badges ...`) live beside their domain.
app.add_typer(badges_app, name="badges")
