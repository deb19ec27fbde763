"""The `tapwork` command. Commands import their domain lazily so `--help` stays instant."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tapwork.badge.cli import app as badges_app
from tapwork.biometric.cli import app as biometric_app
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
    metrics_port: Annotated[
        int | None, typer.Option(help="Prometheus port (default METRICS_PORT, 9100; 0 = none)")
    ] = None,
) -> None:
    """Run the HTTP API (uvicorn); Prometheus metrics of all its workers on their own port."""
    from tapwork.kit.logging import configure_logging

    settings = _settings()
    # uvicorn's own lines (this supervisor's too) in the service's JSON form, not its text one.
    configure_logging(settings.log_level, json=settings.log_json, service="tapwork-api")
    port_for_metrics = settings.metrics_port if metrics_port is None else metrics_port
    if port_for_metrics:
        from tapwork.kit.metrics import serve, use_multiprocess_dir

        # Before uvicorn imports the app (and prometheus_client): every worker it starts,
        # and this process, count in one directory that the server below sums.
        use_multiprocess_dir()
        serve(port_for_metrics, settings.metrics_host)
    import uvicorn

    uvicorn.run(
        "tapwork.asgi:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        access_log=False,
        log_config=None,
        # In-flight requests get this long after the listening socket closes (SIGTERM).
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        # A worker importing the app on a busy machine is not a dead one (the default 5 s
        # made uvicorn kill and restart workers in a loop on our loaded 2-core machines).
        timeout_worker_healthcheck=60,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="jobs run at once")] = 4,
    metrics_port: Annotated[
        int | None, typer.Option(help="Prometheus port (default METRICS_PORT, 9100; 0 = none)")
    ] = None,
) -> None:
    """Run the background worker: email delivery and periodic jobs."""
    import uvloop

    from tapwork.worker.run import run_worker

    settings = _settings()
    port_for_metrics = settings.metrics_port if metrics_port is None else metrics_port
    if port_for_metrics:
        from tapwork.kit.metrics import serve
        from tapwork.monitoring import StateCollector

        serve(
            port_for_metrics,
            settings.metrics_host,
            collectors=(StateCollector(settings.libpq_url),),
        )
    # uvloop, as the API runs under: the delivery loop is mostly event-loop and socket work,
    # which uvloop does in C (bench/README.md, outbox).
    uvloop.run(run_worker(settings, concurrency=concurrency))


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


@app.command()
def backup(
    output: Annotated[Path, typer.Option(help="directory for the dump and its manifest")],
    keep_days: Annotated[
        int | None, typer.Option(min=0, help="delete this tool's backups older than N days")
    ] = None,
) -> None:
    """Dump the database (pg_dump custom format) with a manifest of row counts and checksums;
    upload both when BACKUP_S3_BUCKET is set."""
    from tapwork.backup.service import BackupError
    from tapwork.backup.service import backup as _backup
    from tapwork.backup.storage import S3Settings

    try:
        result = _backup(
            _settings().libpq_url, output, keep_days=keep_days, s3=S3Settings(), console=console
        )
    except BackupError as exc:
        console.print(f"[red]Backup failed:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    m = result.manifest
    console.print(
        f"[green]Backup written:[/] {result.dump} ({m.dump_bytes} bytes, "
        f"{len(m.tables)} tables, {m.total_rows} rows)",
        highlight=False,
        soft_wrap=True,
    )
    for url in result.uploaded:
        console.print(f"Uploaded {url}", highlight=False, soft_wrap=True)
    for name in result.pruned:
        console.print(f"Deleted old backup {name}", highlight=False, soft_wrap=True)


@app.command()
def restore(
    file: Annotated[str, typer.Argument(help="a .dump file (its manifest beside it) or s3://...")],
    force: Annotated[
        bool, typer.Option(help="replace the contents of a database that is not empty")
    ] = False,
) -> None:
    """Restore a backup into DATABASE_URL's database, then prove every table's row count and
    checksum equal to the manifest."""
    import tempfile

    from tapwork.backup.service import BackupError, fetched
    from tapwork.backup.service import restore as _restore
    from tapwork.backup.storage import S3Settings

    try:
        with (
            tempfile.TemporaryDirectory() as workdir,
            fetched(file, S3Settings(), Path(workdir)) as dump,
        ):
            result = _restore(_settings().libpq_url, dump, force=force, console=console)
    except BackupError as exc:
        console.print(f"[red]Restore failed:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    m = result.manifest
    console.print(
        f"[green]Restored {m.dump_file}:[/] {len(m.tables)} tables, {m.total_rows} rows, "
        "every count and checksum equal to the manifest",
        highlight=False,
        soft_wrap=True,
    )


# Domain command groups (`tapwork badges ...`) live beside their domain.
app.add_typer(badges_app, name="badges")
app.add_typer(biometric_app, name="biometric")
