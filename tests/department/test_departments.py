from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.department.models import Department
from tests.support import factories as f
from tests.support.personas import Org

URL = "/api/v1/departments"


async def test_hr_creates_a_department_with_a_manager(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        URL,
        json={"name": "Support", "description": "Helpdesk", "manager_id": str(org.supervisor.id)},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Support"
    assert body["manager_id"] == str(org.supervisor.id)
    assert body["manager_name"] == org.supervisor.full_name
    assert body["member_count"] == 0


async def test_list_shows_member_counts_and_searches(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(URL, headers=org.headers(org.supervisor))
    assert response.status_code == 200
    counts = {d["name"]: d["member_count"] for d in response.json()["items"]}
    # Engineering: supervisor + employee; Sales: hr + outsider.
    assert counts == {"Engineering": 2, "Sales": 2}
    found = await client.get(URL, params={"search": "ENGIN"}, headers=org.headers(org.hr))
    assert [d["name"] for d in found.json()["items"]] == ["Engineering"]
    managed = await client.get(
        URL, params={"manager_id": str(org.supervisor.id)}, headers=org.headers(org.supervisor)
    )
    assert [d["name"] for d in managed.json()["items"]] == ["Engineering"]


async def test_search_treats_wildcards_literally(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await f.make_department(session, name="R_D 100%")
    found = await client.get(URL, params={"search": "_D 100%"}, headers=org.headers(org.hr))
    assert [d["name"] for d in found.json()["items"]] == ["R_D 100%"]
    none = await client.get(URL, params={"search": "%"}, headers=org.headers(org.hr))
    assert [d["name"] for d in none.json()["items"]] == ["R_D 100%"]


async def test_pagination(client: httpx.AsyncClient, org: Org, session: AsyncSession) -> None:
    for i in range(5):
        await f.make_department(session, name=f"Team {i}")
    response = await client.get(
        URL, params={"page": 2, "limit": 3, "search": "Team"}, headers=org.headers(org.hr)
    )
    body = response.json()
    assert body["total"] == 5
    assert [d["name"] for d in body["items"]] == ["Team 3", "Team 4"]


@pytest.mark.parametrize("name", ["Engineering", "engineering"])
async def test_duplicate_name_is_409(client: httpx.AsyncClient, org: Org, name: str) -> None:
    response = await client.post(URL, json={"name": name}, headers=org.headers(org.hr))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "DEPARTMENT_NAME_TAKEN"


async def test_rename_onto_another_name_is_409(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.put(
        f"{URL}/{org.other_department.id}",
        json={"name": "Engineering"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 409


async def test_manager_must_be_an_existing_active_user(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    inactive = await f.make_user(session, active=False)
    for manager_id in (uuid.uuid4(), inactive.id):
        response = await client.post(
            URL, json={"name": "Ops", "manager_id": str(manager_id)}, headers=org.headers(org.hr)
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert error["details"]["fields"][0]["field"] == "body.manager_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 121}, "body.name"),
        ({"name": "bad\x00name"}, "body.name"),
        ({"name": "ok", "description": "d" * 501}, "body.description"),
        ({"name": "   "}, "body.name"),
        ({"name": "ok", "manager_id": "not-a-uuid"}, "body.manager_id"),
    ],
)
async def test_bounded_inputs_are_422_naming_the_field(
    client: httpx.AsyncClient, org: Org, body: dict[str, str], field: str
) -> None:
    response = await client.post(URL, json=body, headers=org.headers(org.hr))
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["error"]["details"]["fields"]]


async def test_update_is_audited_with_old_and_new_values(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    response = await client.put(
        f"{URL}/{org.department.id}",
        json={"description": "Builds things", "manager_id": None},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 200, response.text
    assert response.json()["manager_id"] is None
    assert response.json()["name"] == "Engineering"
    entry = await session.scalar(
        select(AuditLog).where(
            AuditLog.action == "department.update", AuditLog.resource_id == str(org.department.id)
        )
    )
    assert entry is not None
    assert entry.actor_id == org.hr.id
    assert entry.old_values == {"description": "", "manager_id": str(org.supervisor.id)}
    assert entry.new_values == {"description": "Builds things", "manager_id": None}


async def test_delete_with_users_is_409_and_empty_delete_works(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    response = await client.delete(f"{URL}/{org.department.id}", headers=org.headers(org.hr))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "DEPARTMENT_IN_USE"
    empty = await f.make_department(session, name="Empty")
    response = await client.delete(f"{URL}/{empty.id}", headers=org.headers(org.hr))
    assert response.status_code == 204
    assert await session.get(Department, empty.id, populate_existing=True) is None
    entry = await session.scalar(select(AuditLog).where(AuditLog.action == "department.delete"))
    assert entry is not None
    assert entry.old_values is not None
    assert entry.old_values["name"] == "Empty"


async def test_unknown_department_is_404(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(f"{URL}/{uuid.uuid4()}", headers=org.headers(org.hr))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DEPARTMENT_NOT_FOUND"


async def test_supervisor_cannot_write(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.supervisor)
    assert (await client.post(URL, json={"name": "Mine"}, headers=headers)).status_code == 403
    response = await client.put(
        f"{URL}/{org.department.id}", json={"name": "Mine"}, headers=headers
    )
    assert response.status_code == 403
    assert (
        await client.delete(f"{URL}/{org.other_department.id}", headers=headers)
    ).status_code == 403
