"""`tapwork report <kind> --from --to --format --output`: the API's reports from the command line.

The operator of the command line is trusted like HR (`reports:read_all`); the figures, SQL and
files are exactly the API's. CSV streams from COPY to the file with a progress bar over rows;
XLSX and PDF show their stages (query, render, write).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import anyio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker, unit_of_work
from tapwork.permissions import P
from tapwork.report import labels, render, service

KINDS = ("attendance", "department-summary", "timesheet", "monthly-sheet")
FORMATS = ("json", "csv", "xlsx", "pdf")


async def export(
    settings: Settings,
    kind: str,
    filters: service.Filters,
    fmt: str,
    output: Path,
    *,
    layout: str = "generic",
    lang: labels.Lang = "en",
    console: Console,
) -> int:
    """Write the report to `output`; returns the number of data rows (CSV) or bytes."""
    limit = service.MAX_SHEET_DAYS if kind == "monthly-sheet" else service.MAX_DAYS
    service.check_range(filters, limit)
    now = datetime.now(UTC)
    viewer = service.Viewer(uuid.UUID(int=0), frozenset({P.REPORTS_READ_ALL}))
    sql = service.sql_for(kind, filters, layout)
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            scope = await service.resolve(session, viewer, filters)
            conn = await service.driver_connection(session)
            with Progress(*columns, console=console) as progress:
                if fmt == "csv":
                    total = await service.count_rows(conn, sql, scope, now)
                    task = progress.add_task(f"{kind} rows", total=total)
                    rows = -1  # the header line
                    delimiter = ";" if layout == "datev" else ","
                    async with await anyio.open_file(output, "wb") as out:
                        chunks = service.copy_csv(conn, sql, scope, now, delimiter=delimiter)
                        async for chunk in chunks:
                            await out.write(chunk)
                            lines = chunk.count(b"\n")
                            rows += lines
                            progress.advance(task, lines - (1 if rows == lines - 1 else 0))
                    return max(rows, 0)
                task = progress.add_task(f"{kind} {fmt}", total=3)
                meta = render.Meta(
                    kind, settings.organisation_name, filters.from_date, filters.to_date, now, lang
                )
                progress.advance(task)
                if fmt == "json":
                    async with await anyio.open_file(output, "wb") as out:
                        async for chunk in service.json_document(conn, sql, scope, now, meta):
                            await out.write(chunk)
                elif fmt == "xlsx":
                    await service.write_xlsx(conn, sql, scope, now, meta, str(output))
                else:
                    data = await service.file_document(conn, sql, scope, now, meta, fmt)
                    await anyio.Path(output).write_bytes(data)
                progress.advance(task, 2)
                return (await anyio.Path(output).stat()).st_size
    finally:
        await engine.dispose()


def parse_date(value: str) -> date:
    return date.fromisoformat(value)
