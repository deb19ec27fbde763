"""Report exports through the API: queued like the GET is checked, owned by their requester
alone, counted by the generation limit, expired and abandoned by the housekeeping job. The
worker's side (computing them, with real commits) is in test_export_worker.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.config import Settings
from tapwork.report import exports
from tapwork.report.models import ReportExport, ReportExportChunk
from tests.report.conftest import Acme
from tests.support.personas import Org

WEEK = {"from": "2026-03-23", "to": "2026-03-29"}
WEEK_DATES = (date(2026, 3, 23), date(2026, 3, 29))
URL = "/api/v1/reports/exports"


async def _post(
    client: httpx.AsyncClient, org: Org, persona: str, **body: object
) -> httpx.Response:
    payload = {"kind": "attendance", "format": "csv", **WEEK, **body}
    return await client.post(URL, json=payload, headers=org.headers(org.persona(persona)))


async def _job_args(session: AsyncSession) -> list[dict[str, str]]:
    rows = await session.execute(
        text("SELECT args FROM procrastinate_jobs WHERE task_name = 'report.export' ORDER BY id")
    )
    return [r.args for r in rows]


async def test_post_queues_the_export_and_its_job_in_one_transaction(
    acme: Acme, org: Org, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await _post(client, org, "hr", kind="timesheet", layout="datev",
                           department_id=str(acme.operations_id))  # fmt: skip
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["Location"] == f"{URL}/{body['id']}"
    assert response.headers["X-RateLimit-Remaining"] == "9"
    assert body["status"] == "queued"
    assert body["file_url"] is None
    assert body["filename"] == "timesheet_2026-03-23_2026-03-29_datev.csv"
    assert body["filters"] == {
        "from": "2026-03-23", "to": "2026-03-29", "department_id": str(acme.operations_id),
        "user_id": None, "location_id": None, "status": None,
    }  # fmt: skip
    assert await _job_args(session) == [{"export_id": body["id"]}]
    polled = await client.get(response.headers["Location"], headers=org.headers(org.hr))
    assert polled.json()["progress_done"] == 0
    listed = await client.get(URL, headers=org.headers(org.hr))
    assert [e["id"] for e in listed.json()] == [body["id"]]


@pytest.mark.parametrize(
    ("persona", "body", "status", "code"),
    [
        ("supervisor", {"department_id": "operations"}, 403, "DEPARTMENT_FORBIDDEN"),
        ("supervisor", {"user_id": "nora"}, 404, "USER_NOT_FOUND"),
        ("employee", {"user_id": "nora"}, 404, "USER_NOT_FOUND"),
        ("employee", {"kind": "department-summary"}, 403, "FORBIDDEN"),
        ("employee", {"department_id": "operations"}, 403, "DEPARTMENT_FORBIDDEN"),
        ("hr", {"from": "2026-03-29", "to": "2026-03-23"}, 422, "INVALID_RANGE"),
        ("hr", {"kind": "monthly-sheet", "from": "2026-01-01", "to": "2026-03-31"}, 422,
         "INVALID_RANGE"),
        ("hr", {"format": "xlsx", "layout": "gusto", "kind": "timesheet"}, 422,
         "FORMAT_NOT_AVAILABLE"),
        ("hr", {"format": "docx"}, 422, "VALIDATION_ERROR"),
        ("hr", {"status": "asleep"}, 422, "VALIDATION_ERROR"),
        ("hr", {"colour": "blue"}, 422, "VALIDATION_ERROR"),
    ],
)  # fmt: skip
async def test_export_is_checked_like_the_get(
    persona: str, body: dict[str, str], status: int, code: str, acme: Acme, org: Org,
    client: httpx.AsyncClient, session: AsyncSession,
) -> None:  # fmt: skip
    names = {"operations": str(acme.operations_id), "nora": str(acme.nora.id)}
    body = {k: names.get(v, v) for k, v in body.items()}
    response = await _post(client, org, persona, **body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert await _job_args(session) == []
    # The same question as a GET gets the same answer.
    params = {**WEEK, "format": "csv", **body}
    kind = params.pop("kind", "attendance")
    if "user_id" in params:
        params["employee_id"] = params.pop("user_id")
    if "colour" not in params:
        get = await client.get(f"/api/v1/reports/{kind}", params=params,
                               headers=org.headers(org.persona(persona)))  # fmt: skip
        assert (get.status_code, get.json()["error"]["code"]) == (status, code)


async def test_employee_may_export_only_themselves(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    own = await _post(client, org, "employee", user_id=str(org.employee.id))
    assert own.status_code == 202
    everyone = await _post(client, org, "employee")
    assert everyone.status_code == 202  # the worker computes it as theirs (test_export_worker)
    other = await _post(client, org, "employee", user_id=str(org.outsider.id))
    assert other.status_code == 404


async def test_anothers_export_is_404_on_every_route(
    acme: Acme, org: Org, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    export_id = (await _post(client, org, "employee")).json()["id"]
    for persona in ("hr", "admin", "supervisor", "outsider"):
        headers = org.headers(org.persona(persona))
        for method, path in (("GET", ""), ("GET", "/file"), ("DELETE", "")):
            response = await client.request(method, f"{URL}/{export_id}{path}", headers=headers)
            assert response.status_code == 404, (persona, method, path)
            assert response.json()["error"]["code"] == "EXPORT_NOT_FOUND"
        assert (await client.get(URL, headers=headers)).json() == []
    assert await session.get(ReportExport, uuid.UUID(export_id)) is not None
    unknown = await client.get(f"{URL}/{uuid.uuid4()}", headers=org.headers(org.employee))
    assert unknown.status_code == 404
    deleted = await client.delete(f"{URL}/{export_id}", headers=org.headers(org.employee))
    assert deleted.status_code == 204
    assert (
        await client.get(f"{URL}/{export_id}", headers=org.headers(org.employee))
    ).status_code == 404


async def test_exports_count_as_report_generations(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    headers = org.headers(org.hr)
    for n in range(5):
        assert (await _post(client, org, "hr")).headers["X-RateLimit-Remaining"] == str(9 - n)
    for _ in range(5):
        get = await client.get("/api/v1/reports/attendance", params=WEEK, headers=headers)
        assert get.status_code == 200
    refused = await _post(client, org, "hr")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    # Refused by the gate: not counted (an employee asking for the department summary).
    for _ in range(12):
        assert (await _post(client, org, "employee", kind="department-summary")).status_code == 403
    assert (await _post(client, org, "employee")).headers["X-RateLimit-Remaining"] == "9"


async def test_large_xlsx_or_pdf_on_a_get_is_queued_as_an_export(
    acme: Acme, org: Org, client: httpx.AsyncClient, settings: Settings, session: AsyncSession
) -> None:
    headers = org.headers(org.hr)
    settings.report_inline_rows = 3  # the week's attendance has 6 employees
    response = await client.get(
        "/api/v1/reports/attendance", params={**WEEK, "format": "xlsx", "lang": "es"},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["kind"], body["format"], body["lang"], body["status"]) == (
        "attendance", "xlsx", "es", "queued",
    )  # fmt: skip
    assert response.headers["Location"] == f"{URL}/{body['id']}"
    assert response.headers["X-RateLimit-Remaining"] == "9"  # one generation, not two
    assert await _job_args(session) == [{"export_id": body["id"]}]
    # CSV and JSON answer directly whatever their size; a small XLSX too.
    for fmt in ("csv", "json"):
        direct = await client.get("/api/v1/reports/attendance",
                                  params={**WEEK, "format": fmt}, headers=headers)  # fmt: skip
        assert direct.status_code == 200
    small = await client.get(
        "/api/v1/reports/attendance",
        params={**WEEK, "format": "xlsx", "employee_id": str(acme.nora.id)}, headers=headers,
    )  # fmt: skip
    assert small.status_code == 200
    assert small.headers["content-type"].startswith("application/vnd.openxmlformats")


async def _done(
    session: AsyncSession, owner: uuid.UUID, now: datetime, data: bytes
) -> ReportExport:
    export = ReportExport(
        user_id=owner, kind="attendance", format="csv", from_date=WEEK_DATES[0],
        to_date=WEEK_DATES[1], status="done", progress_done=1, progress_total=1, rows=1,
        size_bytes=len(data), created_at=now, finished_at=now,
        expires_at=now + timedelta(hours=24),
    )  # fmt: skip
    session.add(export)
    await session.flush()
    for seq, start in enumerate(range(0, len(data), 4)):
        session.add(ReportExportChunk(export_id=export.id, seq=seq, data=data[start : start + 4]))
    await session.flush()
    return export


async def test_file_is_served_until_it_expires_then_housekeeping_deletes_it(
    org: Org, client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    now = org.clock()
    export = await _done(session, org.hr.id, now, b"a,b\n1,2\n")
    url = f"{URL}/{export.id}/file"
    served = await client.get(url, headers=org.headers(org.hr))
    assert served.status_code == 200
    assert served.content == b"a,b\n1,2\n"
    assert served.headers["content-disposition"] == (
        'attachment; filename="attendance_2026-03-23_2026-03-29.csv"'
    )
    org.clock.advance(hours=24)
    gone = await client.get(url, headers=org.headers(org.hr))
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "EXPORT_EXPIRED"
    # The hourly job: the file goes, the export stays listed as expired for a week.
    counts = await exports.housekeeping(session, now=org.clock(), settings=settings)
    assert counts == {"expired": 1, "abandoned": 0, "deleted": 0}
    chunks = await session.scalar(
        select(func.count()).select_from(ReportExportChunk)
        .where(ReportExportChunk.export_id == export.id)
    )  # fmt: skip
    assert chunks == 0
    listed = (await client.get(URL, headers=org.headers(org.hr))).json()
    assert [(e["status"], e["file_url"]) for e in listed] == [("expired", None)]
    assert (await client.get(url, headers=org.headers(org.hr))).status_code == 410
    counts = await exports.housekeeping(
        session, now=org.clock() + exports.KEEP_EXPIRED, settings=settings
    )
    assert counts["deleted"] == 1
    assert (await client.get(URL, headers=org.headers(org.hr))).json() == []


async def test_file_is_409_until_done(
    acme: Acme, org: Org, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    export_id = (await _post(client, org, "hr")).json()["id"]
    file = await client.get(f"{URL}/{export_id}/file", headers=org.headers(org.hr))
    assert file.status_code == 409
    assert file.json()["error"]["code"] == "EXPORT_NOT_READY"
    await session.execute(
        text("UPDATE report_exports SET status = 'running' WHERE id = :id"), {"id": export_id}
    )
    file = await client.get(f"{URL}/{export_id}/file", headers=org.headers(org.hr))
    assert (file.status_code, file.json()["error"]["details"]["status"]) == (409, "running")


async def test_housekeeping_fails_exports_whose_worker_died(
    org: Org, session: AsyncSession, settings: Settings
) -> None:
    now = org.clock()

    def export(status: str, created: timedelta, heartbeat: timedelta | None) -> ReportExport:
        return ReportExport(
            user_id=org.hr.id, kind="timesheet", format="csv", from_date=WEEK_DATES[0],
            to_date=WEEK_DATES[1], status=status, progress_done=10, progress_total=100,
            created_at=now - created, started_at=now - created if heartbeat else None,
            heartbeat_at=now - heartbeat if heartbeat is not None else None,
        )  # fmt: skip

    killed = export("running", timedelta(hours=2), exports.STALE_RUNNING + timedelta(seconds=1))
    slow = export("running", timedelta(hours=2), timedelta(minutes=1))  # alive: progress moves
    never = export("queued", exports.STALE_QUEUED + timedelta(minutes=1), None)
    waiting = export("queued", timedelta(minutes=5), None)
    session.add_all([killed, slow, never, waiting])
    await session.flush()
    session.add(ReportExportChunk(export_id=killed.id, seq=0, data=b"partial"))
    await session.flush()
    counts = await exports.housekeeping(session, now=now, settings=settings)
    assert counts == {"expired": 0, "abandoned": 2, "deleted": 0}
    for row in (killed, slow, never, waiting):
        await session.refresh(row)
    assert (killed.status, killed.error_code) == ("failed", "EXPORT_ABANDONED")
    assert (never.status, never.error_code) == ("failed", "EXPORT_ABANDONED")
    assert (slow.status, waiting.status) == ("running", "queued")
    assert await session.scalar(select(func.count()).select_from(ReportExportChunk)) == 0
