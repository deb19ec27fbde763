"""Every report, in every format, gives Acme's hand-computed figures (tests/report/expected.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import httpx
import openpyxl
import pypdf
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.report import labels
from tests.report import expected
from tests.report.conftest import Acme
from tests.support.personas import Org

WEEK = {"from": "2026-03-23", "to": "2026-03-29"}
ACME = set(expected.ATTENDANCE)


async def fetch(
    client: httpx.AsyncClient, org: Org, kind: str, fmt: str, **params: str
) -> httpx.Response:
    response = await client.get(
        f"/api/v1/reports/{kind}",
        params={**WEEK, "format": fmt, **params},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 200, response.text
    return response


def csv_rows(response: httpx.Response, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text), delimiter=delimiter))


def xlsx_rows(response: httpx.Response) -> tuple[Any, list[dict[str, Any]], list[Any]]:
    """The data sheet, its rows keyed by header label, and the totals row."""
    book = openpyxl.load_workbook(io.BytesIO(response.content), data_only=True)
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    header = values[0]
    rows = [dict(zip(header, row, strict=True)) for row in values[1:-1]]
    return sheet, rows, list(values[-1])


def pdf_text(response: httpx.Response) -> str:
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_has_row(text: str, *cells: object) -> bool:
    """pypdf gives a table one cell per line: the row's cells must follow one another."""
    return "\n".join(str(c) for c in cells) in text


def label(kind: str, key: str) -> str:
    return next(c.en for c in labels.COLUMNS[kind] if c.key == key)


# -- attendance summary -----------------------------------------------------------------------


async def test_attendance_json(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    body = (await fetch(client, org, "attendance", "json")).json()
    assert body["kind"] == "attendance"
    assert body["from"] == "2026-03-23"
    got = {r["employee_id"]: r for r in body["rows"] if r["employee_id"] in ACME}
    for employee, figures in expected.ATTENDANCE.items():
        assert {k: got[employee][k] for k in figures} == figures, employee
    # The org's other employees (no records at all) are absent every working day.
    others = [r for r in body["rows"] if r["employee_id"] not in ACME]
    assert others
    assert all(r["absences"] == 5 and r["days_present"] == 0 for r in others)


async def test_attendance_csv(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    response = await fetch(client, org, "attendance", "csv", department_id=str(acme.operations_id))
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = {r["employee_id"]: r for r in csv_rows(response)}
    assert set(rows) == {"N001", "P001"}
    for employee in rows:
        for key, value in expected.ATTENDANCE[employee].items():
            assert float(rows[employee][key]) == float(value), (employee, key)


async def test_attendance_xlsx(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    response = await fetch(client, org, "attendance", "xlsx", location_id=str(acme.madrid.id))
    sheet, rows, totals = xlsx_rows(response)
    assert sheet.freeze_panes == "A2"
    by_id = {r["Employee ID"]: r for r in rows}
    assert set(by_id) == {"N001", "P001"}
    for employee, row in by_id.items():
        for key, value in expected.ATTENDANCE[employee].items():
            if key in {c.key for c in labels.COLUMNS["attendance"]}:
                cell = row[label("attendance", key)]
                assert isinstance(cell, int | float), (key, cell)  # typed, not text
                assert cell == pytest.approx(value), (employee, key)
    header = [c.value for c in sheet[1]]
    assert totals[0] == "Total"
    assert totals[header.index("Hours worked")] == pytest.approx(28.78 + 33.67)
    assert totals[header.index("Absences")] == 1
    info = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[1]
    particulars = {row[0]: row[1] for row in info.iter_rows(values_only=True)}
    assert particulars["Range"] == "2026-03-23 to 2026-03-29"
    assert particulars["Organisation"] == "TAPWORK"


async def test_attendance_pdf(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    org.settings.organisation_name = "Acme Iberia"
    response = await fetch(client, org, "attendance", "pdf", department_id=str(acme.operations_id))
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response)
    assert "Acme Iberia — Attendance summary" in text
    assert "Range: 2026-03-23 to 2026-03-29 · Generated: 2026-04-01 10:00 UTC" in text
    assert "Attendance rate per day (%)" in text
    assert "Late and absent per department" in text
    assert "Page 1" in text
    # Headline: 8 of 9 elapsed scheduled days present.
    assert pdf_has_row(text, "Attendance rate %", "88.9")
    assert pdf_has_row(text, "N001", "Night", "Nora", "Operations", 5, 4, 1, 20, 1, 1,
                       "28.78", "28.67", "0.12", "80.0", 0, 0, 0)  # fmt: skip
    assert pdf_has_row(text, "P001", "Partial", "Paco", "Operations", 4, 6, 1, 10, 1, 0,
                       "33.67", "27.33", "6.33", "100.0", 0, 1, 0)  # fmt: skip


# -- department summary -----------------------------------------------------------------------


def _department_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    keys = ("employees", "scheduled", "present", "late", "absent", "attendance_rate")
    return {
        (str(r["date"])[:10], r["department"]): tuple(r[k] for k in keys)
        for r in rows
        if r["department"] in ("Operations", "Sales NY")
    }


async def test_department_summary_json(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    body = (await fetch(client, org, "department-summary", "json")).json()
    assert _department_rows(body["rows"]) == expected.DEPARTMENTS


async def test_department_summary_csv(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    rows = csv_rows(await fetch(client, org, "department-summary", "csv"))
    parsed = [
        {**r, **{k: int(r[k]) for k in ("employees", "scheduled", "present", "late", "absent")},
         "attendance_rate": float(r["attendance_rate"]) if r["attendance_rate"] else None}
        for r in rows
    ]  # fmt: skip
    assert _department_rows(parsed) == expected.DEPARTMENTS


async def test_department_summary_xlsx(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    _, rows, _ = xlsx_rows(await fetch(client, org, "department-summary", "xlsx"))
    keyed = [
        {
            key: row[label("department-summary", key)]
            for key in (
                "date",
                "department",
                "employees",
                "scheduled",
                "present",
                "late",
                "absent",
                "attendance_rate",
            )
        }
        for row in rows
    ]
    assert _department_rows(keyed) == expected.DEPARTMENTS


async def test_department_summary_pdf(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    text = pdf_text(await fetch(client, org, "department-summary", "pdf"))
    for (day, department), figures in expected.DEPARTMENTS.items():
        rate = "" if figures[5] is None else f"{figures[5]:.1f}"
        cells = [day, department, *figures[:5]] + ([rate] if rate else [])
        assert pdf_has_row(text, *cells), (day, department)


# -- monthly sheet ----------------------------------------------------------------------------

DAYS = [f"2026-03-{d}" for d in range(23, 30)]
TOTALS = [f"total_{c}" for c in "pleoahn"]


async def test_monthly_sheet_json(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    rows = (await fetch(client, org, "monthly-sheet", "json")).json()["rows"]
    got = {
        r["employee_id"]: ("".join(r[d] for d in DAYS), tuple(r[t] for t in TOTALS))
        for r in rows
        if r["employee_id"] in ACME
    }
    assert got == expected.SHEET


async def test_monthly_sheet_csv(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    rows = csv_rows(await fetch(client, org, "monthly-sheet", "csv"))
    got = {
        r["employee_id"]: ("".join(r[d] for d in DAYS), tuple(int(r[t]) for t in TOTALS))
        for r in rows
        if r["employee_id"] in ACME
    }
    assert got == expected.SHEET


async def test_monthly_sheet_xlsx(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    sheet, rows, _ = xlsx_rows(await fetch(client, org, "monthly-sheet", "xlsx", lang="es"))
    assert sheet.title == "Hoja mensual de asistencia"
    got = {
        r["N.º empleado"]: (
            "".join(r[d[8:]] or "" for d in DAYS),
            tuple(r[f"Total {t[-1].upper()}"] for t in TOTALS),
        )
        for r in rows
        if r["N.º empleado"] in ACME
    }
    assert got == expected.SHEET


async def test_monthly_sheet_pdf(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    text = pdf_text(await fetch(client, org, "monthly-sheet", "pdf"))
    assert "P = present" in text
    assert "H = holiday" in text
    names = {"N001": ("Night", "Nora"), "P001": ("Partial", "Paco"), "O001": ("Offline", "Olive")}
    for employee, (codes, totals) in expected.SHEET.items():
        assert pdf_has_row(text, employee, *names[employee]), employee
        assert pdf_has_row(text, *list(codes), *totals), employee


# -- timesheet --------------------------------------------------------------------------------


def _timesheet(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    keys = ("pairs", "status", "minutes_late", "worked_minutes", "regular_minutes",
            "overtime_minutes", "flags")  # fmt: skip
    return {
        (r["employee_id"], str(r["date"])[:10]): tuple(r[k] for k in keys)
        for r in rows
        if r["employee_id"] in ACME
    }


async def test_timesheet_json(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    rows = (await fetch(client, org, "timesheet", "json")).json()["rows"]
    assert _timesheet(rows) == expected.TIMESHEET
    nora_dst = next(r for r in rows if (r["employee_id"], r["date"]) == ("N001", "2026-03-28"))
    # Local wall times, in the location's zone, either side of the change.
    assert (nora_dst["first_check_in"], nora_dst["last_check_out"]) == (
        "2026-03-28T22:00:00", "2026-03-29T06:00:00",
    )  # fmt: skip


async def test_timesheet_csv(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    rows = csv_rows(await fetch(client, org, "timesheet", "csv"))
    ints = ("minutes_late", "worked_minutes", "regular_minutes", "overtime_minutes")
    assert _timesheet([{**r, **{k: int(r[k]) for k in ints}} for r in rows]) == expected.TIMESHEET
    olive = [r for r in rows if r["employee_id"] == "O001"]
    assert olive[0]["first_check_in"] == "2026-03-23 09:00:00"  # New York time, not UTC
    assert olive[0]["timezone"] == "America/New_York"


async def test_timesheet_xlsx(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    sheet, rows, totals = xlsx_rows(await fetch(client, org, "timesheet", "xlsx"))
    got = {
        (r["Employee ID"], r["Date"].date().isoformat()): (
            r["In-out pairs"] or "", r["Status"] or "", r["Minutes late"],
            round(r["Hours worked"] * 60), round(r["Regular hours"] * 60),
            round(r["Overtime hours"] * 60), r["Flags"] or "",
        )
        for r in rows
    }  # fmt: skip
    assert got == expected.TIMESHEET
    header = [c.value for c in sheet[1]]
    assert totals[header.index("Overtime hours")] == pytest.approx(
        sum(round(v[5] / 60, 2) for v in expected.TIMESHEET.values())
    )


async def test_timesheet_pdf(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    text = pdf_text(await fetch(client, org, "timesheet", "pdf", employee_id=str(acme.paco.id)))
    assert pdf_has_row(text, "P001", "Partial", "Paco", "Operations", "2026-03-23",
                       "2026-03-23 08:50", "2026-03-23 17:10", "08:50-12:00 13:00-17:10",
                       "on_time", 0, "7.33", "7.33", "0.00")  # fmt: skip
    assert pdf_has_row(text, "10:00-14:00", "holiday", 0, "4.00", "0.00", "4.00")
    assert pdf_has_row(text, "09:00-17:00", "on_time", 0, "8.00", "8.00", "0.00", "corrected")


async def test_timesheet_gusto_layout(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    response = await fetch(client, org, "timesheet", "csv", layout="gusto")
    rows = [tuple(r.values())[:5] for r in csv_rows(response) if r["employee_id"] in ACME]
    assert rows == expected.GUSTO
    assert response.text.splitlines()[0] == (
        "last_name,first_name,employee_id,regular_hours,overtime_hours,double_overtime_hours"
    )


async def test_timesheet_datev_layout(acme: Acme, org: Org, client: httpx.AsyncClient) -> None:
    response = await fetch(client, org, "timesheet", "csv", layout="datev")
    rows = csv_rows(response, delimiter=";")
    paco = [(r["Datum"], r["Lohnart"], r["Stunden"]) for r in rows if r["Personalnummer"] == "P001"]
    assert paco == [
        ("23.03.2026", "1000", "7,33"), ("24.03.2026", "1000", "4,00"),
        ("25.03.2026", "1000", "8,00"), ("25.03.2026", "1200", "0,33"),
        ("26.03.2026", "1200", "4,00"), ("27.03.2026", "1000", "8,00"),
        ("28.03.2026", "1200", "2,00"),
    ]  # fmt: skip


async def test_payroll_layouts_are_csv_only(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/api/v1/reports/timesheet",
        params={**WEEK, "format": "xlsx", "layout": "datev"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "FORMAT_NOT_AVAILABLE"


async def test_autumn_dst_night_is_nine_hours(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    rows = (
        await fetch(
            client,
            org,
            "timesheet",
            "json",
            employee_id=str(acme.nora.id),
            **{"from": "2026-10-24", "to": "2026-10-25"},
        )
    ).json()["rows"]
    assert [(r["date"], r["pairs"], r["worked_minutes"], r["overtime_minutes"]) for r in rows] == [
        ("2026-10-24", "22:00-06:00", 540, 0)
    ]


async def test_spanish_pdf_by_accept_language(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/api/v1/reports/attendance",
        params={**WEEK, "format": "pdf", "employee_id": str(acme.olive.id)},
        headers={**org.headers(org.hr), "Accept-Language": "es-ES,es;q=0.9,en;q=0.5"},
    )
    text = pdf_text(response)
    assert "Resumen de asistencia" in text
    assert "Periodo: 2026-03-23" in text
    assert "Tasa de asistencia por día (%)" in text
    assert "Página 1" in text


async def test_days_before_the_account_existed_are_not_absences(
    acme: Acme, org: Org, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # Eve's account was made on Thursday 26 March, 08:00 in Madrid.
    org.employee.created_at = datetime(2026, 3, 26, 7, 0, tzinfo=UTC)
    await session.flush()
    body = (await fetch(client, org, "attendance", "json", employee_id=str(org.employee.id))).json()
    [eve] = body["rows"]
    assert (eve["scheduled_days"], eve["absences"]) == (2, 2)
