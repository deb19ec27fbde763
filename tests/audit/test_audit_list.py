from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tests.support import factories as f
from tests.support.personas import Org

URL = "/api/v1/audit"


async def _entries(client: httpx.AsyncClient, org: Org, **params: Any) -> dict[str, Any]:
    response = await client.get(URL, params=params, headers=org.headers(org.admin))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _make_changes(client: httpx.AsyncClient, org: Org) -> str:
    hr = org.headers(org.hr)
    created = await client.post("/api/v1/departments", json={"name": "Ops"}, headers=hr)
    department_id: str = created.json()["id"]
    await client.put(
        f"/api/v1/departments/{department_id}", json={"description": "Runs things"}, headers=hr
    )
    await client.post(
        "/api/v1/shifts",
        json={"name": "Late", "start_time": "14:00", "end_time": "22:00"},
        headers=org.headers(org.admin),
    )
    return department_id


async def test_newest_first_with_old_and_new_values(client: httpx.AsyncClient, org: Org) -> None:
    department_id = await _make_changes(client, org)
    body = await _entries(client, org)
    assert [e["action"] for e in body["items"]] == [
        "shift.create",
        "department.update",
        "department.create",
    ]
    update = body["items"][1]
    assert update["resource_type"] == "department"
    assert update["resource_id"] == department_id
    assert update["actor_id"] == str(org.hr.id)
    assert update["actor_label"] == org.hr.email
    assert update["old_values"] == {"description": ""}
    assert update["new_values"] == {"description": "Runs things"}
    assert update["ip"]


async def test_filters(client: httpx.AsyncClient, org: Org) -> None:
    department_id = await _make_changes(client, org)

    async def actions(**params: Any) -> list[str]:
        return [e["action"] for e in (await _entries(client, org, **params))["items"]]

    assert await actions(actor_id=str(org.admin.id)) == ["shift.create"]
    assert await actions(action="department.create") == ["department.create"]
    assert await actions(resource_type="department") == ["department.update", "department.create"]
    assert await actions(resource_id=department_id, action="department.update") == [
        "department.update"
    ]
    assert await actions(resource_type="nothing") == []


async def test_time_window_and_pagination(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    for day in range(1, 6):
        session.add(
            AuditLog(
                actor_type="system",
                action=f"test.day{day}",
                resource_type="test",
                created_at=datetime(2026, 1, day, 12, tzinfo=UTC),
            )
        )
    await session.flush()
    window = await _entries(
        client,
        org,
        resource_type="test",
        since="2026-01-02T12:00:00Z",
        until="2026-01-04T12:00:00+00:00",
    )
    # since is inclusive, until exclusive.
    assert [e["action"] for e in window["items"]] == ["test.day3", "test.day2"]
    page = await _entries(client, org, resource_type="test", limit=2, page=2)
    assert page["total"] == 5
    assert [e["action"] for e in page["items"]] == ["test.day3", "test.day2"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-01-01T00:00:00"}, "query.since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "query.until"),
        ({"action": "a" * 65}, "query.action"),
        ({"resource_id": "x\x00y"}, "query.resource_id"),
        ({"actor_id": "me"}, "query.actor_id"),
    ],
)
async def test_bad_filters_are_422(
    client: httpx.AsyncClient, org: Org, params: dict[str, str], field: str
) -> None:
    response = await client.get(URL, params=params, headers=org.headers(org.admin))
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["error"]["details"]["fields"]]


async def test_entries_outlive_their_actor(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    temp_hr = await f.make_user(session, role_name="hr_manager")
    await client.post(
        "/api/v1/locations",
        json={"name": "Kiosk hall", "timezone": "UTC"},
        headers=org.headers(temp_hr),
    )
    email = temp_hr.email
    await session.delete(temp_hr)
    await session.flush()
    body = await _entries(client, org, action="location.create")
    assert [e["actor_label"] for e in body["items"]] == [email]


async def test_hr_cannot_read_the_audit_log(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(URL, headers=org.headers(org.hr))
    assert response.status_code == 403


async def test_the_action_filter_offers_the_actions_in_the_log(
    client: httpx.AsyncClient, org: Org
) -> None:
    await _make_changes(client, org)
    response = await client.get(f"{URL}/actions", headers=org.headers(org.admin))
    assert response.status_code == 200
    actions = response.json()
    assert {"department.create", "department.update", "shift.create"} <= set(actions)
    assert actions == sorted(set(actions))
