"""Large reports in bounded memory: JSON streamed a batch of rows at a time (byte for byte what
`json_agg` built as one value), XLSX written a batch at a time to a temporary file."""

from __future__ import annotations

import io
import tempfile
from contextlib import aclosing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import openpyxl
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.report import labels, render, service
from tapwork.report.errors import FormatNotAvailable
from tapwork.report.service import Filters, Scope, Viewer
from tests.report.conftest import Acme
from tests.support.personas import Org

WEEK = Filters(date(2026, 3, 23), date(2026, 3, 29))
NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)
KINDS = ("attendance", "department-summary", "monthly-sheet", "timesheet")


def _everyone(org: Org) -> Scope:
    return Scope(WEEK, Viewer(org.hr.id, frozenset({"reports:read_all"})), everyone=True)


def _meta(kind: str) -> render.Meta:
    return render.Meta(kind, "Acme", WEEK.from_date, WEEK.to_date, NOW, "en")


async def _json_agg(session: AsyncSession, sql: str, scope: Scope) -> bytes:
    """What the JSON's rows were before streaming: the whole array as one PostgreSQL value."""
    conn = await service.driver_connection(session)
    async with conn.cursor() as cur:
        await cur.execute(
            f"SELECT coalesce(json_agg(t), '[]'::json)::text FROM ({sql}) t",
            scope.params(NOW),
        )
        row = await cur.fetchone()
    assert row is not None
    return str(row[0]).encode()


async def _streamed(session: AsyncSession, kind: str, scope: Scope) -> list[bytes]:
    conn = await service.driver_connection(session)
    sql = service.sql_for(kind, scope.filters)
    return [c async for c in service.json_document(conn, sql, scope, NOW, _meta(kind))]


def _rows_part(document: bytes) -> bytes:
    return document[document.index(b',"rows":') + len(b',"rows":') : -1]


@pytest.mark.parametrize("batch", [1, 2, 5_000])
async def test_streamed_json_rows_are_json_aggs_bytes(
    acme: Acme, org: Org, session: AsyncSession, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(service, "JSON_BATCH", batch)
    scope = _everyone(org)
    for kind in KINDS:
        sql = service.sql_for(kind, WEEK)
        chunks = await _streamed(session, kind, scope)
        document = b"".join(chunks)
        expected = await _json_agg(session, sql, scope)
        assert _rows_part(document) == expected, kind
        rows = orjson.loads(document)["rows"]
        assert rows, kind
        # A chunk per batch between the particulars and the closing bracket.
        assert len(chunks) == 2 + -(-len(rows) // batch), kind


async def test_streamed_json_of_no_rows_is_an_empty_array(
    acme: Acme, org: Org, session: AsyncSession
) -> None:
    nobody = Filters(date(2020, 1, 6), date(2020, 1, 12))
    scope = Scope(nobody, Viewer(org.hr.id, frozenset({"reports:read_all"})), everyone=True)
    conn = await service.driver_connection(session)
    chunks = [
        c
        async for c in service.json_document(
            conn, service.sql_for("timesheet", nobody), scope, NOW, _meta("timesheet")
        )
    ]
    assert (
        _rows_part(b"".join(chunks))
        == b"[]"
        == await _json_agg(session, service.sql_for("timesheet", nobody), scope)
    )


async def test_json_get_streams_the_same_rows(
    acme: Acme, org: Org, session: AsyncSession, client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(service, "JSON_BATCH", 2)
    response = await client.get(
        "/api/v1/reports/timesheet",
        params={"from": "2026-03-23", "to": "2026-03-29", "format": "json"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    expected = await _json_agg(session, service.sql_for("timesheet", WEEK), _everyone(org))
    assert _rows_part(response.content) == expected
    assert orjson.loads(response.content)["kind"] == "timesheet"


async def test_stopping_a_json_stream_early_leaves_the_connection_usable(
    acme: Acme, org: Org, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "JSON_BATCH", 1)
    scope = _everyone(org)
    conn = await service.driver_connection(session)
    sql = service.sql_for("timesheet", WEEK)
    async with aclosing(service.json_document(conn, sql, scope, NOW, _meta("timesheet"))) as it:
        async for chunk in it:
            if chunk.startswith(b"{"):
                continue
            break  # the first row: the rest are still coming
    async with conn.cursor() as cur:
        await cur.execute("SELECT 41 + 1")
        assert await cur.fetchone() == (42,)


def _cells(data: bytes) -> list[list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]


async def test_xlsx_written_in_batches_is_the_same_sheet(
    acme: Acme, org: Org, session: AsyncSession, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    """A batch boundary changes nothing: cells, formulas and cached totals as with one batch;
    the temporary directory (the pods' /tmp) is empty afterwards."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    scope = _everyone(org)
    conn = await service.driver_connection(session)
    sql = service.sql_for("timesheet", WEEK)
    whole = await service.file_document(conn, sql, scope, NOW, _meta("timesheet"), "xlsx")
    monkeypatch.setattr(service, "XLSX_BATCH", 2)
    batched = await service.file_document(conn, sql, scope, NOW, _meta("timesheet"), "xlsx")
    assert [p async for p in anyio.Path(tmp_path).iterdir()] == []
    [sheet, about] = _cells(batched)
    assert [sheet, about] == _cells(whole)
    rows = orjson.loads(b"".join(await _streamed(session, "timesheet", scope)))["rows"]
    assert len(sheet) == 1 + len(rows) + 1 > 2 + 2  # header, rows, totals: several batches
    assert sheet[-1][0] == "Total"
    assert any(isinstance(v, str) and v.startswith("=SUM(") for v in sheet[-1])
    values = list(openpyxl.load_workbook(io.BytesIO(batched), data_only=True).worksheets[0].values)
    header = values[0]
    worked = header.index(next(c.en for c in labels.COLUMNS["timesheet"]
                               if c.key == "worked_hours"))  # fmt: skip
    assert values[-1][worked] == round(sum(float(r["worked_hours"] or 0) for r in rows), 2)


async def test_xlsx_longer_than_an_excel_sheet_is_refused(
    acme: Acme, org: Org, session: AsyncSession, client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    """xlsxwriter would drop the rows past the sheet's end without a word: refused instead."""
    monkeypatch.setattr(service, "MAX_XLSX_ROWS", 2)  # the week's timesheet has more
    response = await client.get(
        "/api/v1/reports/timesheet",
        params={"from": "2026-03-23", "to": "2026-03-29", "format": "xlsx"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]["max_rows"]) == ("FORMAT_NOT_AVAILABLE", 2)
    # The command line writes without counting first: the writer stops at the limit too.
    conn = await service.driver_connection(session)
    sql = service.sql_for("timesheet", WEEK)
    with pytest.raises(FormatNotAvailable):
        await service.write_xlsx(
            conn, sql, _everyone(org), NOW, _meta("timesheet"), str(tmp_path / "t.xlsx")
        )


async def test_wide_xlsx_is_queued_before_it_would_fill_the_apis_tmp(
    acme: Acme, org: Org, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inline budget is in cells: a 31-day monthly sheet has 42 columns a row."""
    month = {"from": "2026-03-01", "to": "2026-03-31"}
    headers = org.headers(org.hr)
    sheet = await client.get(
        "/api/v1/reports/monthly-sheet", params={**month, "format": "json"}, headers=headers
    )
    rows = len(sheet.json()["rows"])
    assert 0 < rows < 20_000  # well under REPORT_INLINE_ROWS
    monkeypatch.setattr(service, "MAX_INLINE_XLSX_CELLS", (rows + 2) * 42 - 1)
    queued = await client.get(
        "/api/v1/reports/monthly-sheet", params={**month, "format": "xlsx"}, headers=headers
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["kind"] == "monthly-sheet"
    monkeypatch.setattr(service, "MAX_INLINE_XLSX_CELLS", (rows + 2) * 42)
    answered = await client.get(
        "/api/v1/reports/monthly-sheet", params={**month, "format": "xlsx"}, headers=headers
    )
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("application/vnd.openxmlformats")
