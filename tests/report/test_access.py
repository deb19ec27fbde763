"""Who sees which rows of which report, the generation limit, and bad ranges."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import pytest

from tapwork.report.schemas import Dashboard
from tests.report.conftest import Acme
from tests.support.personas import Org

WEEK = {"from": "2026-03-23", "to": "2026-03-29"}
KINDS = ("attendance", "timesheet", "monthly-sheet")


async def _ids(
    client: httpx.AsyncClient, org: Org, persona: str, kind: str, **params: str
) -> set[str]:
    response = await client.get(
        f"/api/v1/reports/{kind}",
        params={**WEEK, "format": "csv", **params},
        headers=org.headers(org.persona(persona)),
    )
    assert response.status_code == 200, response.text
    return {r["employee_id"] for r in csv.DictReader(io.StringIO(response.text))}


@pytest.mark.parametrize("kind", KINDS)
async def test_each_role_sees_its_own_rows(
    kind: str, acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    everyone = {"N001", "P001", "O001", org.employee.employee_id, org.supervisor.employee_id,
                org.outsider.employee_id}  # fmt: skip
    if kind == "timesheet":  # only days with records: the personas have none
        everyone = {"N001", "P001", "O001"}
    for persona in ("hr", "admin"):
        assert await _ids(client, org, persona, kind) == everyone
    # Sam manages Engineering (Eve and himself); Eve and Olga see only themselves.
    engineering = {org.employee.employee_id, org.supervisor.employee_id}
    expected = {"supervisor": engineering, "employee": {org.employee.employee_id},
                "outsider": {org.outsider.employee_id}}  # fmt: skip
    for persona, ids in expected.items():
        assert await _ids(client, org, persona, kind) == (set() if kind == "timesheet" else ids)


async def test_supervisor_cannot_ask_for_another_department(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    headers = org.headers(org.supervisor)
    for kind in (*KINDS, "department-summary"):
        response = await client.get(
            f"/api/v1/reports/{kind}",
            params={**WEEK, "department_id": str(acme.operations_id)},
            headers=headers,
        )
        assert response.status_code == 403, kind
        assert response.json()["error"]["code"] == "DEPARTMENT_FORBIDDEN"
    response = await client.get(
        "/api/v1/reports/attendance",
        params={**WEEK, "employee_id": str(acme.nora.id)},
        headers=headers,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "USER_NOT_FOUND"


async def test_supervisor_department_summary_is_their_departments(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/api/v1/reports/department-summary", params=WEEK, headers=org.headers(org.supervisor)
    )
    assert {r["department"] for r in response.json()["rows"]} == {"Engineering"}


async def test_employee_reports_only_on_themselves(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    headers = org.headers(org.employee)
    other = await client.get(
        "/api/v1/reports/timesheet",
        params={**WEEK, "employee_id": str(org.outsider.id)},
        headers=headers,
    )
    assert other.status_code == 404
    own = await client.get(
        "/api/v1/reports/attendance",
        params={**WEEK, "employee_id": str(org.employee.id)},
        headers=headers,
    )
    assert [r["employee_id"] for r in own.json()["rows"]] == [org.employee.employee_id]
    summary = await client.get("/api/v1/reports/department-summary", params=WEEK, headers=headers)
    assert summary.status_code == 403


async def test_ten_generations_per_hour_per_user(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    headers = org.headers(org.hr)
    remaining = []
    for _ in range(10):
        response = await client.get("/api/v1/reports/attendance", params=WEEK, headers=headers)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "10"
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(9, -1, -1))
    refused = await client.get("/api/v1/reports/timesheet", params=WEEK, headers=headers)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) > 0
    # Another user has their own hour; an hour later HR may generate again.
    other = await client.get(
        "/api/v1/reports/attendance", params=WEEK, headers=org.headers(org.admin)
    )
    assert other.status_code == 200
    org.clock.advance(hours=1)
    again = await client.get("/api/v1/reports/attendance", params=WEEK, headers=org.headers(org.hr))
    assert again.status_code == 200


async def test_refused_calls_do_not_use_up_the_hour(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    headers = org.headers(org.employee)
    for _ in range(12):
        response = await client.get(
            "/api/v1/reports/department-summary", params=WEEK, headers=headers
        )
        assert response.status_code == 403
    response = await client.get("/api/v1/reports/attendance", params=WEEK, headers=headers)
    assert response.headers["X-RateLimit-Remaining"] == "9"


@pytest.mark.parametrize(
    ("kind", "params", "code"),
    [
        ("attendance", {"from": "2026-03-29", "to": "2026-03-23"}, "INVALID_RANGE"),
        ("timesheet", {"from": "2025-01-01", "to": "2026-03-23"}, "INVALID_RANGE"),
        ("monthly-sheet", {"from": "2026-01-01", "to": "2026-03-31"}, "INVALID_RANGE"),
        ("attendance", {"from": "2026-03-01", "to": "not-a-date"}, "VALIDATION_ERROR"),
        ("attendance", {**WEEK, "format": "docx"}, "VALIDATION_ERROR"),
        ("timesheet", {**WEEK, "status": "asleep"}, "VALIDATION_ERROR"),
    ],
)
async def test_bad_input_is_a_clear_422(
    kind: str, params: dict[str, str], code: str, org: Org, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        f"/api/v1/reports/{kind}", params=params, headers=org.headers(org.hr)
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


async def test_dashboard_days_and_today_in_each_locations_zone(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    # Thursday 26 March, 13:30 UTC: 14:30 in Madrid, 09:30 in New York.
    org.clock.set(datetime(2026, 3, 26, 13, 30, tzinfo=UTC))
    response = await client.get(
        "/api/v1/reports/dashboard",
        params={"department_id": str(acme.sales_id)},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 200
    body = response.json()
    days = {d["days_ago"]: (d["on_time"], d["late"], d["absent"]) for d in body["days"]}
    # Olive (New York): today open since 09:00, Wednesday on time, Tuesday only a held scan.
    assert days[0] == (1, 0, 0)
    assert days[1] == (1, 0, 0)
    assert days[2] == (0, 0, 1)
    assert body["absent"] == []
    operations = (
        await client.get(
            "/api/v1/reports/dashboard",
            params={"department_id": str(acme.operations_id)},
            headers=org.headers(org.hr),
        )
    ).json()
    # Madrid's Thursday is a holiday: Paco worked it (present, not "on time" against a
    # schedule he did not have), Nora is off.
    assert operations["days"][-1]["days_ago"] == 0
    assert (operations["days"][-1]["on_time"], operations["days"][-1]["absent"]) == (0, 0)
    # Wednesday: Nora absent, Paco late.
    wednesday = next(d for d in operations["days"] if d["days_ago"] == 1)
    assert (wednesday["late"], wednesday["absent"]) == (1, 1)
    # The SQL's JSON is what the OpenAPI document promises (the portal is typed from it).
    for answer in (body, operations):
        documented = Dashboard.model_validate(answer).model_dump(mode="json")
        assert documented["days"] == answer["days"]
        assert set(documented) == set(answer)
    # Reading the dashboard is not a report generation: only the general limit counts it.
    assert response.headers["X-RateLimit-Limit"] == "100"
