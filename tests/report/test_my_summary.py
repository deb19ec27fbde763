"""My history's totals come from the attendance report's SQL: the employee's own summary
equals their row of the report HR downloads, to the minute."""

from __future__ import annotations

import httpx

from tests.report.conftest import Acme
from tests.report.expected import ATTENDANCE
from tests.support.personas import Org

WEEK = {"from": "2026-03-23", "to": "2026-03-29"}
SHARED = (
    "scheduled_days", "days_present", "late_count", "minutes_late", "early_leaves", "absences",
    "worked_minutes", "regular_minutes", "overtime_minutes", "attendance_rate", "open_days",
    "held_scans",
)  # fmt: skip


async def test_my_totals_equal_my_row_of_the_attendance_report(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    report = await client.get(
        "/api/v1/reports/attendance", params=WEEK, headers=org.headers(org.hr)
    )
    rows = {r["employee_id"]: r for r in report.json()["rows"]}
    for user in (acme.nora, acme.paco, acme.olive):
        mine = await client.get("/api/v1/reports/me", params=WEEK, headers=org.headers(user))
        assert mine.status_code == 200, mine.text
        body = mine.json()
        assert (body["from"], body["to"]) == (WEEK["from"], WEEK["to"])
        assert {k: body[k] for k in SHARED} == {k: rows[user.employee_id][k] for k in SHARED}
        assert {k: body[k] for k in SHARED} == {k: ATTENDANCE[user.employee_id][k] for k in SHARED}
        # Self-service, not a report generation: only the general limit (100 a minute) counts
        # it, never the 10 report generations an hour.
        assert mine.headers["X-RateLimit-Limit"] == "100"


async def test_someone_without_a_shift_or_records_gets_zeros_and_bad_ranges_are_refused(
    org: Org, client: httpx.AsyncClient
) -> None:
    headers = org.headers(org.admin)
    mine = await client.get("/api/v1/reports/me", params=WEEK, headers=headers)
    assert mine.status_code == 200
    assert mine.json()["days_present"] == 0
    reversed_ = await client.get(
        "/api/v1/reports/me", params={"from": "2026-03-29", "to": "2026-03-23"}, headers=headers
    )
    assert reversed_.status_code == 422
    assert reversed_.json()["error"]["code"] == "INVALID_RANGE"
    missing = await client.get("/api/v1/reports/me", params={"from": "2026-03-29"}, headers=headers)
    assert missing.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_my_history_totals_are_my_row_of_the_attendance_report(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    # Nora works a night shift (one late day, one early leave, the DST night), Paco is late
    # once and files two records a day, Olive has an open record and a held offline scan.
    report = await client.get(
        "/api/v1/reports/attendance", params=WEEK, headers=org.headers(org.hr)
    )
    rows = {r["employee_id"]: r for r in report.json()["rows"]}
    week = {"start_date": WEEK["from"], "end_date": WEEK["to"]}
    for user in (acme.nora, acme.paco, acme.olive):
        mine = await client.get("/api/v1/attendance/me", params=week, headers=org.headers(user))
        assert mine.status_code == 200, mine.text
        body = mine.json()
        totals, items = body["totals"], body["items"]
        assert {k: totals[k] for k in SHARED} == {k: rows[user.employee_id][k] for k in SHARED}
        assert totals["records"] == len(items)
        assert totals["open_records"] == sum(i["check_out_at"] is None for i in items)
        assert totals["early_leave_minutes"] == sum(i["early_leave_minutes"] or 0 for i in items)
    nora = (
        await client.get("/api/v1/attendance/me", params=week, headers=org.headers(acme.nora))
    ).json()["totals"]
    assert (nora["late_count"], nora["minutes_late"]) == (1, 20)
    olive = (
        await client.get("/api/v1/attendance/me", params=week, headers=org.headers(acme.olive))
    ).json()["totals"]
    assert (olive["open_records"], olive["open_days"], olive["held_scans"]) == (1, 1, 1)
