"""POST /users/import: validate everything first, all or nothing, idempotent on employee_id."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.auth import tokens
from tapwork.notification.models import OutboxEmail
from tapwork.user.models import User
from tests.support.clock import FrozenClock
from tests.support.personas import Org

IMPORT = "/api/v1/users/import"
HEADER = "email,employee_id,first_name,last_name,department,shift,location,role\n"
CSV = {"Content-Type": "text/csv"}


def good_csv() -> str:
    return (
        HEADER
        + "ana@example.com,IMP-1,Ana,Alvarez,Engineering,Day,Madrid HQ,\n"
        + "bo@example.com,IMP-2,Bo,Berg,sales,,,supervisor\n"
        + "cy@example.com,IMP-3,Cy,Cruz,,,,\n"
    )


async def _post(
    client: httpx.AsyncClient, org: Org, body: str, who: str = "hr", **params: str
) -> httpx.Response:
    headers = {**org.headers(org.persona(who)), **CSV}
    return await client.post(IMPORT, headers=headers, content=body.encode(), params=params)


async def _count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_imports_rows_resolving_names(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    response = await _post(client, org, good_csv())
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 3, "updated": 0, "skipped": 0, "errors": []}
    ana = await session.scalar(select(User).where(User.employee_id == "IMP-1"))
    assert ana is not None
    assert ana.department_id == org.department.id
    assert ana.shift_id == org.shift.id
    assert ana.location_id == org.location.id
    assert ana.role.name == "employee"
    assert ana.password_hash is None
    bo = await session.scalar(select(User).where(User.employee_id == "IMP-2"))
    assert bo is not None
    assert bo.department_id == org.other_department.id  # names match case-insensitively
    assert bo.role.name == "supervisor"
    invitations = {
        mail.to_address: mail
        for mail in (
            await session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "invitation"))
        ).all()
    }
    assert set(invitations) == {"ana@example.com", "bo@example.com", "cy@example.com"}
    # The import writes invitation tokens itself (in bulk): they must work like issued ones.
    url = urlparse(invitations["ana@example.com"].context["accept_url"])
    assert url.path == "/portal/accept-invite"
    raw = parse_qs(url.query)["token"][0]
    token = await tokens.consume(session, raw, tokens.Purpose.INVITE, now=clock())
    assert token is not None
    assert token.user_id == ana.id
    summary = await session.scalar(select(AuditLog).where(AuditLog.action == "user.import"))
    assert summary is not None
    assert summary.actor_id == org.hr.id
    assert summary.new_values == {"rows": 3, "created": 3, "updated": 0, "skipped": 0}
    creates = await session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "user.create")
    )
    assert creates == 3


async def test_one_bad_row_imports_nothing_and_reports_every_error(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    before = await _count_users(session)
    body = (
        HEADER
        + "ok@example.com,IMP-1,Ok,Row,,,,\n"
        + "\n"  # blank line: skipped, but numbering follows the file
        + "not-an-email,IMP-2,,Row,Nowhere,,,\n"
        + "dup@example.com,IMP-1,Dup,Row,,,,\n"
        + f"{org.employee.email},IMP-4,Taken,Email,,,,\n"
        + "x@example.com,IMP-5,X,Y,,,,boss\n"
    )
    response = await _post(client, org, body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "IMPORT_INVALID"
    found = {(e["row"], e["field"]) for e in error["details"]["errors"]}
    assert found == {
        (4, "email"),
        (4, "first_name"),
        (4, "department"),  # names are checked even on a row with other bad cells
        (5, "employee_id"),
        (6, "email"),
        (7, "role"),
    }
    assert await _count_users(session) == before
    assert await session.scalar(select(func.count()).select_from(OutboxEmail)) == 0


async def test_unknown_names_are_row_errors(client: httpx.AsyncClient, org: Org) -> None:
    body = HEADER + "a@example.com,IMP-1,A,B,Marketing,Night,Lisbon,\n"
    response = await _post(client, org, body)
    errors = response.json()["error"]["details"]["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {
        (2, "department"),
        (2, "shift"),
        (2, "location"),
    }
    assert "Marketing" in errors[0]["message"] or "Marketing" in str(errors)


async def test_skip_invalid_imports_the_good_rows(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    body = good_csv() + "bad,IMP-9,Bad,Row,,,,\n"
    response = await _post(client, org, body, skip_invalid="true")
    assert response.status_code == 200
    result = response.json()
    assert (result["created"], result["updated"], result["skipped"]) == (3, 0, 1)
    assert result["errors"] == [
        {"row": 5, "field": "email", "message": result["errors"][0]["message"]}
    ]
    assert await session.scalar(select(User).where(User.employee_id == "IMP-9")) is None


async def test_reimport_updates_by_employee_id(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    assert (await _post(client, org, good_csv())).status_code == 200
    total = await _count_users(session)
    again = await _post(client, org, good_csv())
    assert again.json() == {"created": 0, "updated": 3, "skipped": 0, "errors": []}
    assert await _count_users(session) == total
    changed = good_csv().replace("Ana,Alvarez,Engineering", "Ana,Alvarez-Diaz,Sales")
    third = await _post(client, org, changed)
    assert third.json()["updated"] == 3
    ana = await session.scalar(select(User).where(User.employee_id == "IMP-1"))
    assert ana is not None
    await session.refresh(ana)
    assert ana.last_name == "Alvarez-Diaz"
    assert ana.department_id == org.other_department.id
    updates = (
        await session.scalars(
            select(AuditLog).where(
                AuditLog.action == "user.update", AuditLog.resource_id == str(ana.id)
            )
        )
    ).all()
    # Only the import that changed something left an entry.
    assert len(updates) == 1
    assert updates[0].new_values == {
        "last_name": "Alvarez-Diaz",
        "department_id": str(org.other_department.id),
    }
    # Re-imports do not invite again.
    invitations = await session.scalar(
        select(func.count()).select_from(OutboxEmail).where(OutboxEmail.to_address == ana.email)
    )
    assert invitations == 1


async def test_empty_cells_keep_existing_values(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    e = org.employee
    body = (
        "employee_id,email,first_name,last_name\n"
        f"{e.employee_id},{e.email},{e.first_name},{e.last_name}\n"
    )
    response = await _post(client, org, body)
    assert response.json()["updated"] == 1
    await session.refresh(e)
    assert e.department_id == org.department.id
    assert e.role.name == "employee"


async def test_hr_cannot_import_admins_or_change_them(client: httpx.AsyncClient, org: Org) -> None:
    a = org.admin
    body = (
        HEADER
        + "new@example.com,IMP-1,New,Admin,,,,admin\n"
        + f"{a.email},{a.employee_id},Taken,Over,,,,\n"
    )
    response = await _post(client, org, body)
    errors = response.json()["error"]["details"]["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(2, "role"), (3, "employee_id")}
    assert (await _post(client, org, body, who="admin")).status_code == 200


async def test_header_problems_reject_the_file(client: httpx.AsyncClient, org: Org) -> None:
    response = await _post(
        client, org, "email,first_name,last_name,departmnet\na@example.com,A,B,X\n"
    )
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(1, "employee_id"), (1, "departmnet")}


async def test_multipart_upload_semicolons_and_bom(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    body = "\ufeffemail;employee_id;first_name;last_name\nsemi@example.com;IMP-7;Sémi;Colón\n"
    response = await client.post(
        IMPORT,
        headers=org.headers(org.hr),
        files={"file": ("people.csv", body.encode(), "text/csv")},
        params={"send_invites": "false"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    user = await session.scalar(select(User).where(User.employee_id == "IMP-7"))
    assert user is not None
    assert user.last_name == "Colón"
    assert await session.scalar(select(func.count()).select_from(OutboxEmail)) == 0


async def test_nul_and_overlong_cells_are_row_errors(client: httpx.AsyncClient, org: Org) -> None:
    body = HEADER + "a@example.com,IMP-1,A\x00,B,,,,\n" + f"b@example.com,IMP-2,B,{'x' * 101},,,,\n"
    response = await _post(client, org, body)
    errors = response.json()["error"]["details"]["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(2, "first_name"), (3, "last_name")}


async def test_not_utf8_and_not_csv(client: httpx.AsyncClient, org: Org) -> None:
    latin1 = (HEADER + "a@example.com,IMP-1,José,B,,,,\n").encode("latin-1")
    headers = {**org.headers(org.hr), **CSV}
    response = await client.post(IMPORT, headers=headers, content=latin1)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["row"] == 2
    as_json = await client.post(IMPORT, headers=org.headers(org.hr), json={"rows": []})
    assert as_json.status_code == 415


async def test_five_thousand_rows_in_a_few_statements(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, engine: AsyncEngine
) -> None:
    lines = [HEADER]
    for n in range(5000):
        dept = "Engineering" if n % 2 else "Sales"
        lines.append(f"bulk{n}@example.com,BULK-{n:05d},First{n},Last{n},{dept},Day,Madrid HQ,\n")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        response = await _post(client, org, "".join(lines))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert response.status_code == 200, response.text[:500]
    assert response.json()["created"] == 5000
    print(f"5000 rows: {elapsed:.2f}s wall, {cpu:.2f}s CPU, {len(statements)} statements")
    # Names resolve with one query per table and rows go out as multi-row INSERTs: a per-row
    # statement anywhere would make this thousands (and the import ten times slower).
    assert len(statements) < 60
    invitations = await session.scalar(
        select(func.count()).select_from(OutboxEmail).where(OutboxEmail.kind == "invitation")
    )
    assert invitations == 5000
