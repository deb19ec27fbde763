"""The timesheet's CSV is formatted by PostgreSQL an employee per row (queries.TIMESHEET_CSV) for
speed; it must be exactly what COPY writes for the timesheet's columns, awkward names included."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.permissions import P
from tapwork.report import queries, service
from tests.report.conftest import NOW, Acme, _at, _record
from tests.support import factories as f
from tests.support.personas import Org

WEEK = {"from": "2026-03-23", "to": "2026-03-29"}


async def _copy(session: AsyncSession, sql: str) -> bytes:
    """COPY of `sql` as HR sees the week: PostgreSQL's own CSV writer."""
    viewer = service.Viewer(uuid.uuid4(), frozenset({P.REPORTS_READ_ALL}))
    filters = service.Filters(datetime(2026, 3, 23).date(), datetime(2026, 3, 29).date())
    scope = await service.resolve(session, viewer, filters)
    conn = await service.driver_connection(session)
    await service.tune(conn)
    out = bytearray()
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    async with conn.cursor() as cur, cur.copy(statement, scope.params(NOW)) as copy:
        async for chunk in copy:
            out += chunk
    return bytes(out)


async def test_timesheet_csv_is_copys_csv_byte_for_byte(
    acme: Acme, org: Org, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    # Names that need quoting, a blank department and a name sorting between Acme's people.
    shift = await f.make_shift(session, name="Quoted day", start=time(9), end=time(17))
    awkward = await f.make_user(
        session, shift=shift, location=acme.madrid,
        first_name='Ana "La Jefa"', last_name="Ortega, de la Vega",
    )  # fmt: skip
    awkward.created_at = datetime(2026, 1, 5, tzinfo=UTC)
    md = "Europe/Madrid"
    await _record(session, awkward, shift, acme.madrid, _at(md, 2026, 3, 24, 9, 5), None)
    await session.flush()

    response = await client.get(
        "/api/v1/reports/timesheet",
        params={**WEEK, "format": "csv"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 200, response.text
    expected = await _copy(session, queries.TIMESHEET)
    assert response.content == expected
    rows = list(csv.DictReader(io.StringIO(response.text)))
    mine = [r for r in rows if r["employee_id"] == awkward.employee_id]
    assert [
        (r["last_name"], r["first_name"], r["department"], r["pairs"], r["flags"]) for r in mine
    ] == [("Ortega, de la Vega", 'Ana "La Jefa"', "", "09:05-", "open")]
    # Employees in name order, each one's days in date order.
    keys = [(r["last_name"], r["first_name"], r["date"]) for r in rows]
    names = [k[:2] for k in keys]
    assert names.index(("Ortega, de la Vega", 'Ana "La Jefa"')) > names.index(("Offline", "Olive"))
    assert names.index(("Ortega, de la Vega", 'Ana "La Jefa"')) < names.index(("Partial", "Paco"))
    for name in set(names):
        days = [k[2] for k in keys if k[:2] == name]
        assert days == sorted(days)


async def test_status_filter_keeps_the_days_whose_first_scan_has_it(
    acme: Acme, org: Org, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/api/v1/reports/timesheet",
        params={**WEEK, "format": "csv", "status": "late"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {(r["employee_id"], r["date"]) for r in rows} == {
        ("N001", "2026-03-24"),
        ("P001", "2026-03-25"),
    }
