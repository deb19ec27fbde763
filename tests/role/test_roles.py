from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.permissions import ALL_PERMISSIONS, SYSTEM_ROLES, P
from tapwork.role.models import Role
from tests.support import factories as f
from tests.support.personas import Org

URL = "/api/v1/roles"


async def _custom(session: AsyncSession, name: str, permissions: list[str]) -> Role:
    role = Role(name=name, permissions=permissions)
    session.add(role)
    await session.flush()
    return role


async def test_list_shows_system_roles_with_permissions_and_user_counts(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get(URL, headers=org.headers(org.hr))
    assert response.status_code == 200
    roles = {r["name"]: r for r in response.json()["items"]}
    assert set(roles) == set(SYSTEM_ROLES)
    assert roles["admin"]["permissions"] == sorted(ALL_PERMISSIONS)
    assert all(r["is_system"] for r in roles.values())
    # employee + outsider hold the employee role; one user each for the others.
    counts = {name: r["user_count"] for name, r in roles.items()}
    assert counts == {"employee": 2, "supervisor": 1, "hr_manager": 1, "admin": 1}


async def test_permission_catalogue_describes_every_permission(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get(f"{URL}/permissions", headers=org.headers(org.hr))
    assert response.status_code == 200
    catalogue = {p["name"]: p["description"] for p in response.json()}
    assert set(catalogue) == ALL_PERMISSIONS
    assert all(catalogue.values()), [name for name, text in catalogue.items() if not text]


async def test_admin_creates_a_custom_role(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    response = await client.post(
        URL,
        json={
            "name": "Payroll",
            "description": "Reads reports",
            "permissions": [P.REPORTS_READ_ALL, P.ATTENDANCE_READ_ALL, P.REPORTS_READ_ALL],
        },
        headers=org.headers(org.admin),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["permissions"] == sorted([P.ATTENDANCE_READ_ALL, P.REPORTS_READ_ALL])
    assert (body["is_system"], body["user_count"]) == (False, 0)
    entry = await session.scalar(select(AuditLog).where(AuditLog.action == "role.create"))
    assert entry is not None
    assert entry.new_values is not None
    assert entry.new_values["permissions"] == body["permissions"]


async def test_unknown_permissions_are_422_listing_them(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.post(
        URL,
        json={"name": "Odd", "permissions": ["users:fly", P.USERS_READ_ALL, "root"]},
        headers=org.headers(org.admin),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"]["unknown"] == ["root", "users:fly"]
    assert error["details"]["fields"][0]["field"] == "body.permissions"


async def test_cannot_grant_a_permission_one_does_not_hold(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await _custom(session, "role_manager", [P.ROLES_READ, P.ROLES_WRITE, P.DEPARTMENTS_READ])
    manager = await f.make_user(session, role_name="role_manager")
    headers = org.headers(manager)
    refused = await client.post(
        URL, json={"name": "Auditor", "permissions": [P.AUDIT_READ]}, headers=headers
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "PERMISSION_NOT_HELD"
    assert refused.json()["error"]["details"]["permissions"] == [P.AUDIT_READ]
    allowed = await client.post(
        URL, json={"name": "Viewer", "permissions": [P.DEPARTMENTS_READ]}, headers=headers
    )
    assert allowed.status_code == 201, allowed.text
    # Nor may they add it to an existing role.
    raised = await client.put(
        f"{URL}/{allowed.json()['id']}",
        json={"permissions": [P.DEPARTMENTS_READ, P.USERS_DELETE]},
        headers=headers,
    )
    assert raised.status_code == 403


async def test_keeping_a_permission_one_does_not_hold_is_allowed(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await _custom(session, "role_manager", [P.ROLES_READ, P.ROLES_WRITE])
    manager = await f.make_user(session, role_name="role_manager")
    auditor = await _custom(session, "Auditor", [P.AUDIT_READ, P.ROLES_READ])
    response = await client.put(
        f"{URL}/{auditor.id}",
        json={"permissions": [P.AUDIT_READ]},  # removes roles:read, keeps audit:read
        headers=org.headers(manager),
    )
    assert response.status_code == 200, response.text
    assert response.json()["permissions"] == [P.AUDIT_READ]


@pytest.mark.parametrize("name", ["employee", "admin"])
@pytest.mark.parametrize(
    "change", [{"name": "boss"}, {"permissions": []}, {"description": "changed"}]
)
async def test_system_roles_cannot_be_edited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, name: str, change: dict[str, str]
) -> None:
    role = await f.role(session, name)
    response = await client.put(f"{URL}/{role.id}", json=change, headers=org.headers(org.admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SYSTEM_ROLE"


async def test_system_roles_cannot_be_deleted(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    role = await f.role(session, "supervisor")
    response = await client.delete(f"{URL}/{role.id}", headers=org.headers(org.admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SYSTEM_ROLE"


async def test_role_with_users_cannot_be_deleted(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    role = await _custom(session, "Temp", [P.SHIFTS_READ])
    await f.make_user(session, role_name="Temp")
    response = await client.delete(f"{URL}/{role.id}", headers=org.headers(org.admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ROLE_IN_USE"


async def test_update_and_delete_are_audited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    role = await _custom(session, "Night desk", [P.SHIFTS_READ])
    response = await client.put(
        f"{URL}/{role.id}",
        json={"name": "Night office", "permissions": [P.SHIFTS_READ, P.LOCATIONS_READ]},
        headers=org.headers(org.admin),
    )
    assert response.status_code == 200, response.text
    entry = await session.scalar(select(AuditLog).where(AuditLog.action == "role.update"))
    assert entry is not None
    assert entry.old_values == {"name": "Night desk", "permissions": [P.SHIFTS_READ]}
    assert entry.new_values == {
        "name": "Night office",
        "permissions": [P.LOCATIONS_READ, P.SHIFTS_READ],
    }
    response = await client.delete(f"{URL}/{role.id}", headers=org.headers(org.admin))
    assert response.status_code == 204
    assert (await client.get(f"{URL}/{role.id}", headers=org.headers(org.hr))).status_code == 404
    assert await session.scalar(select(AuditLog).where(AuditLog.action == "role.delete"))


async def test_a_new_permission_works_on_the_next_request(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    role = await _custom(session, "Clerk", [])
    clerk = await f.make_user(session, role_name="Clerk")
    headers = org.headers(clerk)
    assert (await client.get("/api/v1/shifts", headers=headers)).status_code == 403
    await client.put(
        f"{URL}/{role.id}", json={"permissions": [P.SHIFTS_READ]}, headers=org.headers(org.admin)
    )
    assert (await client.get("/api/v1/shifts", headers=headers)).status_code == 200


@pytest.mark.parametrize("name", ["Admin", "hr_manager"])
async def test_duplicate_name_is_409(client: httpx.AsyncClient, org: Org, name: str) -> None:
    response = await client.post(URL, json={"name": name}, headers=org.headers(org.admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ROLE_NAME_TAKEN"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "r" * 65}, "body.name"),
        ({"name": "r\x00"}, "body.name"),
        ({"name": "ok", "permissions": ["p" * 65]}, "body.permissions.0"),
        ({"name": "ok", "description": "d" * 501}, "body.description"),
    ],
)
async def test_bounded_inputs(
    client: httpx.AsyncClient, org: Org, body: dict[str, str], field: str
) -> None:
    response = await client.post(URL, json=body, headers=org.headers(org.admin))
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["error"]["details"]["fields"]]


async def test_hr_reads_but_cannot_write_and_supervisor_cannot_read(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    assert (
        await client.post(URL, json={"name": "x"}, headers=org.headers(org.hr))
    ).status_code == 403
    role = await f.role(session, "employee")
    one = await client.get(f"{URL}/{role.id}", headers=org.headers(org.hr))
    assert one.json()["name"] == "employee"
    assert (await client.get(URL, headers=org.headers(org.supervisor))).status_code == 403
    missing = await client.get(f"{URL}/{uuid.uuid4()}", headers=org.headers(org.hr))
    assert missing.json()["error"]["code"] == "ROLE_NOT_FOUND"
