"""Listing and reading users: filters, search, and who sees whom."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import factories as f
from tests.support.personas import Org

USERS = "/api/v1/users"


def _emails(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {u["email"] for u in response.json()["items"]}


async def test_hr_lists_everyone(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(USERS, headers=org.headers(org.hr))
    everyone = {org.employee, org.supervisor, org.hr, org.admin, org.outsider}
    assert _emails(response) == {u.email for u in everyone}
    assert response.json()["total"] == 5


async def test_supervisor_lists_only_managed_department(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get(USERS, headers=org.headers(org.supervisor))
    assert _emails(response) == {org.employee.email, org.supervisor.email}
    # Asking for another department's members gives nothing, not an error that confirms it.
    other = await client.get(
        USERS,
        headers=org.headers(org.supervisor),
        params={"department_id": str(org.other_department.id)},
    )
    assert _emails(other) == set()


async def test_supervisor_reading_other_department_user_is_404(
    client: httpx.AsyncClient, org: Org
) -> None:
    headers = org.headers(org.supervisor)
    own = await client.get(f"{USERS}/{org.employee.id}", headers=headers)
    assert own.status_code == 200
    assert own.json()["employee_id"] == org.employee.employee_id
    other = await client.get(f"{USERS}/{org.outsider.id}", headers=headers)
    missing = await client.get(f"{USERS}/{uuid.uuid4()}", headers=headers)
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["code"] == missing.json()["error"]["code"] == "USER_NOT_FOUND"


async def test_employee_cannot_list_or_read_users(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.employee)
    assert (await client.get(USERS, headers=headers)).status_code == 403
    assert (await client.get(f"{USERS}/{org.employee.id}", headers=headers)).status_code == 403


async def test_filters_and_search(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    inactive = await f.make_user(
        session, department=org.department, active=False, first_name="Zoe", last_name="O'Neil"
    )
    headers = org.headers(org.hr)
    by_dept = await client.get(
        USERS, headers=headers, params={"department_id": str(org.department.id)}
    )
    assert _emails(by_dept) == {org.employee.email, org.supervisor.email, inactive.email}
    only_inactive = await client.get(USERS, headers=headers, params={"is_active": "false"})
    assert _emails(only_inactive) == {inactive.email}
    by_role = await client.get(USERS, headers=headers, params={"role": "hr_manager"})
    assert _emails(by_role) == {org.hr.email}
    full_name = await client.get(USERS, headers=headers, params={"search": "zoe o'nei"})
    assert _emails(full_name) == {inactive.email}
    employee_id = await client.get(
        USERS, headers=headers, params={"search": org.outsider.employee_id.lower()}
    )
    assert _emails(employee_id) == {org.outsider.email}
    # LIKE wildcards in the term are literal characters.
    wildcard = await client.get(USERS, headers=headers, params={"search": "%"})
    assert _emails(wildcard) == set()


async def test_pagination(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.admin)
    first = await client.get(USERS, headers=headers, params={"limit": 2, "page": 1})
    third = await client.get(USERS, headers=headers, params={"limit": 2, "page": 3})
    assert first.json()["total"] == 5
    assert len(first.json()["items"]) == 2
    assert len(third.json()["items"]) == 1
    seen = _emails(first) | _emails(third)
    assert len(seen) == 3


async def test_search_rejects_nul_and_overlong(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.hr)
    nul = await client.get(USERS, headers=headers, params={"search": "a\x00b"})
    long = await client.get(USERS, headers=headers, params={"search": "a" * 101})
    for response in (nul, long):
        assert response.status_code == 422
        assert response.json()["error"]["details"]["fields"][0]["field"] == "query.search"
