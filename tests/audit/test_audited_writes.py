"""The five organisation domains write through audit/crud.py: each create, update and delete
leaves one entry with the right action and values, and a PUT that changes nothing leaves none."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tests.support.personas import Org

# (audit resource_type, collection URL, create body)
RESOURCES = [
    ("department", "/api/v1/departments", {"name": "Ops"}),
    ("location", "/api/v1/locations", {"name": "Pop-up", "timezone": "Europe/Lisbon"}),
    ("shift", "/api/v1/shifts", {"name": "Late", "start_time": "14:00", "end_time": "22:00"}),
    ("holiday", "/api/v1/holidays", {"holiday_date": "2026-12-25", "name": "Christmas"}),
    ("role", "/api/v1/roles", {"name": "Auditor", "permissions": []}),
]


async def _entries(session: AsyncSession, action: str, resource_id: str) -> list[AuditLog]:
    rows = await session.scalars(
        select(AuditLog).where(AuditLog.action == action, AuditLog.resource_id == resource_id)
    )
    return list(rows.all())


Resource = tuple[str, str, dict[str, Any]]


@pytest.fixture(params=RESOURCES, ids=[r[0] for r in RESOURCES])
def resource(request: pytest.FixtureRequest) -> Resource:
    value: Resource = request.param
    return value


async def test_create_update_delete_are_audited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, resource: Resource
) -> None:
    resource_type, url, body = resource
    headers = org.headers(org.admin)
    created = await client.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.text
    item = created.json()
    rid = item["id"]

    [create] = await _entries(session, f"{resource_type}.create", rid)
    assert create.resource_type == resource_type
    assert create.old_values is None
    assert create.new_values is not None
    assert create.new_values["name"] == body["name"]
    assert set(create.new_values) <= set(item)  # the audited fields are the row's own

    renamed = await client.put(f"{url}/{rid}", json={"name": "Renamed"}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Renamed"
    [update] = await _entries(session, f"{resource_type}.update", rid)
    assert update.old_values == {"name": body["name"]}
    assert update.new_values == {"name": "Renamed"}

    deleted = await client.delete(f"{url}/{rid}", headers=headers)
    assert deleted.status_code == 204
    [delete] = await _entries(session, f"{resource_type}.delete", rid)
    assert delete.new_values is None
    assert delete.old_values == {**create.new_values, "name": "Renamed"}
    gone = await client.get(f"{url}/{rid}", headers=headers)
    assert gone.status_code == 404


async def test_put_that_changes_nothing_leaves_no_entry(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, resource: Resource
) -> None:
    resource_type, url, body = resource
    headers = org.headers(org.admin)
    created = (await client.post(url, json=body, headers=headers)).json()
    same = await client.put(f"{url}/{created['id']}", json={"name": body["name"]}, headers=headers)
    assert same.status_code == 200, same.text
    assert same.json()["updated_at"] == created["updated_at"]
    assert await _entries(session, f"{resource_type}.update", created["id"]) == []
