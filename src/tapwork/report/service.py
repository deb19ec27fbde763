"""Who may see which report rows, and running the report SQL.

Visibility: `reports:read_all` sees everyone; `reports:read_department` the departments the
caller manages (and themselves); anyone else only themselves. Asking for a department you do
not manage is 403 `DEPARTMENT_FORBIDDEN`; asking for an employee you may not see is 404
`USER_NOT_FOUND` (no enumeration). The department summary needs a `reports:*` permission.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

import anyio
import orjson
from psycopg import AsyncConnection
from psycopg.rows import dict_row, scalar_row
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.department.models import Department
from tapwork.permissions import P
from tapwork.report import queries, render
from tapwork.report.errors import (
    DepartmentForbidden,
    FormatNotAvailable,
    RangeTooLong,
    UserNotFound,
)
from tapwork.user.models import User

MAX_DAYS = 366
MAX_SHEET_DAYS = 62
# A PDF is for reading: past this many rows, ask for CSV or XLSX instead.
MAX_PDF_ROWS = 20_000
COPY_BATCH = 64 * 1024
# An Excel sheet has 1,048,576 rows: the header, the data, the totals row. xlsxwriter drops
# cells past it without a word, so a longer report is refused instead (CSV or JSON serve it).
MAX_XLSX_ROWS = 1_048_574
# An XLSX answered inline is built in the API pod's /tmp (a 64Mi emptyDir): at its peak
# (xlsxwriter copies the sheet's rows into the sheet's XML, then zips it) that takes up to ~90
# bytes per cell (bench/README.md), so past this many cells the GET queues an export instead:
# ~36 MB, e.g. 20,000 timesheet rows but only ~9,500 rows of a 31-day monthly sheet.
MAX_INLINE_XLSX_CELLS = 400_000
# Rows per batch streamed from PostgreSQL: an XLSX batch is dicts (~2 KB a timesheet row), a
# JSON one text (~0.5 KB a row).
XLSX_BATCH = 2_000
JSON_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller as the report queries see them (also a scheduled report's recipient)."""

    user_id: uuid.UUID
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Filters:
    from_date: date
    to_date: date
    department_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """A resolved report request: the filters plus what the caller may see."""

    filters: Filters
    viewer: Viewer
    everyone: bool
    departments: list[uuid.UUID] = field(default_factory=list)

    def params(self, now: datetime) -> dict[str, Any]:
        f = self.filters
        return {
            "everyone": self.everyone,
            "departments": self.departments,
            "self_id": self.viewer.user_id,
            "department_id": f.department_id,
            "user_id": f.user_id,
            "location_id": f.location_id,
            "status": f.status,
            "from_date": f.from_date,
            "to_date": f.to_date,
            "now": now,
        }


def check_range(filters: Filters, limit: int = MAX_DAYS) -> None:
    if filters.to_date < filters.from_date:
        raise RangeTooLong("`to` must not be before `from`", field="to")
    if (filters.to_date - filters.from_date).days + 1 > limit:
        raise RangeTooLong(f"A report covers at most {limit} days", max_days=limit)


async def resolve(session: AsyncSession, viewer: Viewer, filters: Filters) -> Scope:
    """Apply the caller's permissions to the filters (403/404 as documented above)."""
    if P.REPORTS_READ_ALL in viewer.permissions:
        scope = Scope(filters, viewer, everyone=True)
    elif P.REPORTS_READ_DEPARTMENT in viewer.permissions:
        managed = list(
            await session.scalars(
                select(Department.id).where(Department.manager_id == viewer.user_id)
            )
        )
        if filters.department_id is not None and filters.department_id not in managed:
            raise DepartmentForbidden("You can only report on the departments you manage")
        scope = Scope(filters, viewer, everyone=False, departments=managed)
    else:
        if filters.department_id is not None:
            raise DepartmentForbidden("You can only report on your own attendance")
        if filters.user_id not in (None, viewer.user_id):
            raise UserNotFound("No such user")
        scope = Scope(filters, viewer, everyone=False)
    if filters.user_id is not None and not scope.everyone and filters.user_id != viewer.user_id:
        department = await session.scalar(
            select(User.department_id).where(User.id == filters.user_id)
        )
        if department is None or department not in scope.departments:
            raise UserNotFound("No such user")
    return scope


async def own_row(
    session: AsyncSession, user_id: uuid.UUID, from_date: date, to_date: date, *, now: datetime
) -> dict[str, Any] | None:
    """`user_id`'s own row of the attendance report over the range (local work dates), from
    the same SQL as `/reports/attendance` and `/reports/me`: what My history's totals are
    (GET /attendance/me). None when the report has no row for them (no shift and no records).
    The caller has authorised reading one's own attendance; no report generation is counted."""
    scope = Scope(Filters(from_date, to_date, user_id=user_id), Viewer(user_id, frozenset()), False)
    rows = await fetch(await driver_connection(session), queries.ATTENDANCE, scope, now)
    return rows[0] if rows else None


def can_see_departments(viewer: Viewer) -> bool:
    return bool({P.REPORTS_READ_ALL, P.REPORTS_READ_DEPARTMENT} & viewer.permissions)


# Report statements are few and big: no JIT (it compiled for 20+ s on a month of 10,000
# employees, more than the query ran), memory enough to sort a month in RAM, and no parallel
# workers: the timesheet groups its days straight from a sorted subquery (queries._TS), an
# order that partial aggregation across workers would not keep.
_TUNE = (
    "SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true), "
    "set_config('max_parallel_workers_per_gather', '0', true)"
)


async def tune(conn: AsyncConnection[Any]) -> None:
    await conn.execute(_TUNE)


async def fetch(
    conn: AsyncConnection[Any], sql: str, scope: Scope, now: datetime
) -> list[dict[str, Any]]:
    # prepare=False: each report's parameters (a department, a range) deserve their own plan;
    # a generic plan for the scope's OR would scan everything.
    await tune(conn)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, scope.params(now), prepare=False)
        return await cur.fetchall()


async def count_rows(conn: AsyncConnection[Any], sql: str, scope: Scope, now: datetime) -> int:
    """How many rows `sql` gives (for a progress bar)."""
    await tune(conn)
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT count(*) FROM ({sql}) t", scope.params(now), prepare=False)  # noqa: S608
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def scalar_json(conn: AsyncConnection[Any], sql: str, scope: Scope, now: datetime) -> bytes:
    """A statement that builds its whole JSON answer in PostgreSQL."""
    await tune(conn)
    async with conn.cursor() as cur:
        await cur.execute(sql, scope.params(now), prepare=False)
        row = await cur.fetchone()
        return str(row[0] if row else "null").encode()


async def batches(
    conn: AsyncConnection[Any],
    sql: str,
    scope: Scope,
    now: datetime,
    *,
    size: int,
    row_factory: Any = dict_row,
) -> AsyncGenerator[list[Any], None]:
    """`sql`'s rows, `size` at a time, as PostgreSQL sends them (libpq's chunked rows): memory
    holds a batch, never the report. Close it (`aclosing`) when stopping early. Chunked rows
    need libpq 17 or later: psycopg[binary] ships its own (18 in the lock)."""
    await tune(conn)
    batch: list[Any] = []
    async with conn.cursor(row_factory=row_factory) as cur:
        # Closed here, not by the garbage collector: stopping early cancels the query now and
        # leaves the connection usable.
        stream = cast("AsyncGenerator[Any, None]", cur.stream(sql, scope.params(now), size=size))
        async with aclosing(stream):
            async for row in stream:
                batch.append(row)
                if len(batch) >= size:
                    yield batch
                    batch = []
    if batch:
        yield batch


def check_xlsx_rows(rows: int) -> None:
    if rows > MAX_XLSX_ROWS:
        raise FormatNotAvailable(
            f"Too many rows for an XLSX sheet ({rows}); use CSV or JSON", max_rows=MAX_XLSX_ROWS
        )


def xlsx_fits_inline(kind: str, filters: Filters, rows: int) -> bool:
    """Whether an XLSX of `rows` rows is small enough to build in an API request's /tmp."""
    cells = (rows + 2) * len(render.sheet_columns(kind, filters.from_date, filters.to_date))
    return cells <= MAX_INLINE_XLSX_CELLS


def headline(kind: str, rows: list[dict[str, Any]], daily: list[dict[str, Any]]) -> dict[str, Any]:
    """A PDF's headline figures, from the per-employee or per-day aggregates SQL returned."""
    present = sum(int(r["present_scheduled"]) for r in daily)
    absent = sum(int(r["absent"]) for r in daily)
    figures: dict[str, Any] = {
        "rate": f"{100.0 * present / (present + absent):.1f}" if present + absent else "—",
        "late": sum(int(r["late"]) for r in daily),
        "absent": absent,
    }
    if kind in ("attendance", "timesheet"):
        figures["hours_worked"] = f"{sum(float(r['worked_hours']) for r in rows):.2f}"
        figures["overtime"] = f"{sum(float(r['overtime_hours']) for r in rows):.2f}"
    if kind in ("attendance", "monthly-sheet"):
        figures["employees"] = len(rows)
    return figures


async def copy_csv(
    conn: AsyncConnection[Any], sql: str, scope: Scope, now: datetime, *, delimiter: str = ","
) -> AsyncIterator[bytes]:
    """Stream `sql` as CSV with a header straight from PostgreSQL's COPY (no Python per row).

    A statement with a CSV twin (the timesheet) streams the twin instead: the same bytes,
    formatted by PostgreSQL a whole employee per row (queries.TIMESHEET_CSV).
    """
    await tune(conn)
    if sql is queries.TIMESHEET and delimiter == ",":
        async for block in _timesheet_lines(conn, scope, now):
            yield block
        return
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true, DELIMITER '{delimiter}')"
    # COPY sends a message per row; handing each to the ASGI server cost more CPU than the
    # query. Batches of ~64 KiB keep memory flat and the event loop free.
    batch = bytearray()
    async with conn.cursor() as cur, cur.copy(statement, scope.params(now)) as copy:
        async for chunk in copy:
            batch += chunk
            if len(batch) >= COPY_BATCH:
                yield bytes(batch)
                batch.clear()
    if batch:
        yield bytes(batch)


async def _timesheet_lines(
    conn: AsyncConnection[Any], scope: Scope, now: datetime
) -> AsyncIterator[bytes]:
    """The timesheet CSV from TIMESHEET_CSV: an employee per row, their quoted columns once and
    the day lines after them; here each line gets the employee's columns in front (one
    `str.replace` per employee, no Python per line)."""
    batch = bytearray(",".join(queries.TIMESHEET_COLUMNS).encode() + b"\n")
    async with conn.cursor() as cur:
        async for head, body in cur.stream(queries.TIMESHEET_CSV, scope.params(now)):
            batch += (head + body[:-1].replace("\n", "\n" + head) + "\n").encode()
            if len(batch) >= COPY_BATCH:
                yield bytes(batch)
                batch.clear()
    if batch:
        yield bytes(batch)


async def driver_connection(session: AsyncSession) -> AsyncConnection[Any]:
    """The psycopg connection under the session's current transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, AsyncConnection)
    return driver


def sql_for(kind: str, filters: Filters, layout: str = "generic") -> str:
    if kind == "attendance":
        return queries.ATTENDANCE
    if kind == "department-summary":
        return queries.DEPARTMENT_SUMMARY
    if kind == "monthly-sheet":
        return queries.monthly_sheet(filters.from_date, filters.to_date)
    if layout == "gusto":
        return queries.GUSTO
    if layout == "datev":
        return queries.DATEV
    return queries.TIMESHEET


# json_agg's separator between two records: the streamed array is byte for byte its value.
_JSON_SEPARATOR = ", \n "


async def json_document(
    conn: AsyncConnection[Any], sql: str, scope: Scope, now: datetime, meta: render.Meta
) -> AsyncGenerator[bytes, None]:
    """The JSON answer in pieces of about `JSON_BATCH` rows: particulars, then the rows exactly
    as PostgreSQL serialises them (each `row_to_json`, joined as `json_agg` joins them, which
    built the whole array as one text value: 1 GB at most, and all of it in memory)."""
    head = orjson.dumps(
        {
            "kind": meta.kind,
            "organisation": meta.organisation,
            "from": meta.from_date,
            "to": meta.to_date,
            "generated_at": meta.generated_at,
        }
    )
    yield head[:-1] + b',"rows":['
    statement = f"SELECT row_to_json(t)::text FROM ({sql}) t"  # noqa: S608
    separator = ""
    async with aclosing(
        batches(conn, statement, scope, now, size=JSON_BATCH, row_factory=scalar_row)
    ) as rows:
        async for batch in rows:
            yield (separator + _JSON_SEPARATOR.join(batch)).encode()
            separator = _JSON_SEPARATOR
    yield b"]}"


async def write_xlsx(
    conn: AsyncConnection[Any], sql: str, scope: Scope, now: datetime, meta: render.Meta,
    path: str, *, tmpdir: str | None = None,
) -> int:  # fmt: skip
    """Write the XLSX to `path` a batch at a time; returns its row count. xlsxwriter runs in a
    thread on one batch while the event loop fetches the next (and keeps serving scans); the
    sheet's rows wait in xlsxwriter's temporary file in `tmpdir`, not in memory."""
    book = await anyio.to_thread.run_sync(partial(render.XlsxBook, path, meta, tmpdir=tmpdir))
    writing: asyncio.Future[None] | None = None
    try:
        async with aclosing(batches(conn, sql, scope, now, size=XLSX_BATCH)) as rows:
            async for batch in rows:
                check_xlsx_rows(book.rows + len(batch))
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(anyio.to_thread.run_sync(book.write, batch))
        if writing is not None:
            await writing
        await anyio.to_thread.run_sync(book.close)
    finally:
        # A thread cannot be stopped: let it finish before the caller removes its file.
        if writing is not None and not writing.done():
            await asyncio.wait([writing])
    return book.rows


@asynccontextmanager
async def xlsx_file(
    conn: AsyncConnection[Any], sql: str, scope: Scope, now: datetime, meta: render.Meta
) -> AsyncIterator[tuple[Path, int]]:
    """The XLSX in a temporary directory (the pods' /tmp) for the block's time: (path, rows).
    The directory holds the file and, while it is written, xlsxwriter's uncompressed sheet."""
    with tempfile.TemporaryDirectory(prefix="tapwork-xlsx-") as tmp:
        path = Path(tmp) / "report.xlsx"
        rows = await write_xlsx(conn, sql, scope, now, meta, str(path), tmpdir=tmp)
        yield path, rows


async def file_document(
    conn: AsyncConnection[Any], sql: str, scope: Scope, now: datetime, meta: render.Meta, fmt: str
) -> bytes:
    """XLSX or PDF bytes (for the inline answer of at most REPORT_INLINE_ROWS rows, and mail
    attachments); rendering runs in a thread so the event loop keeps serving scans."""
    if fmt == "xlsx":
        async with xlsx_file(conn, sql, scope, now, meta) as (path, _):
            return await anyio.Path(path).read_bytes()
    rows = await fetch(conn, sql, scope, now)
    if len(rows) > MAX_PDF_ROWS:
        raise FormatNotAvailable(
            f"Too many rows for a PDF ({len(rows)}); use CSV or XLSX", max_rows=MAX_PDF_ROWS
        )
    daily = await fetch(conn, queries.DEPARTMENT_SUMMARY, scope, now)
    summary = headline(meta.kind, rows, daily)
    return await anyio.to_thread.run_sync(render.pdf, rows, daily, summary, meta)
