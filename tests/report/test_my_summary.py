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
