"""PUT and DELETE /users/{id}: changes, deactivation, role changes, escalation, audit."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.auth.models import RefreshToken
from tapwork.kit.security import hash_token, new_token
from tapwork.user.models import User
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org

USERS = "/api/v1/users"


async def _refresh_token(session: AsyncSession, user: User, clock: FrozenClock) -> RefreshToken:
    token = RefreshToken(
        user_id=user.id,
        family_id=uuid.uuid4(),
        token_hash=hash_token(new_token()),
        created_at=clock(),
        expires_at=clock() + timedelta(days=30),
    )
    session.add(token)
    await session.flush()
    return token


async def _audit(session: AsyncSession, action: str, user_id: uuid.UUID) -> list[AuditLog]:
    rows = await session.scalars(
        select(AuditLog).where(AuditLog.action == action, AuditLog.resource_id == str(user_id))
    )
    return list(rows.all())


async def test_update_changes_only_sent_fields_and_audits_old_and_new(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    response = await client.put(
        f"{USERS}/{org.employee.id}",
        headers=org.headers(org.hr),
        json={"last_name": "Renamed", "department_id": str(org.other_department.id)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["last_name"] == "Renamed"
    assert body["first_name"] == "Eve"
    assert body["department_id"] == str(org.other_department.id)
    assert body["shift_id"] == str(org.shift.id)
    [entry] = await _audit(session, "user.update", org.employee.id)
    assert entry.actor_id == org.hr.id
    assert entry.old_values == {
        "last_name": org.employee.last_name,
        "department_id": str(org.department.id),
    }
    assert entry.new_values == {
        "last_name": "Renamed",
        "department_id": str(org.other_department.id),
    }


async def test_null_clears_a_reference(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.put(
        f"{USERS}/{org.employee.id}", headers=org.headers(org.hr), json={"shift_id": None}
    )
    assert response.status_code == 200
    assert response.json()["shift_id"] is None


async def test_update_to_taken_email_is_409(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.put(
        f"{USERS}/{org.employee.id}",
        headers=org.headers(org.hr),
        json={"email": org.outsider.email},
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"]["field"] == "email"


async def test_deactivation_ends_sessions(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    employee_headers = org.headers(org.employee)
    assert (await client.get(f"{USERS}/me", headers=employee_headers)).status_code == 200
    refresh = await _refresh_token(session, org.employee, clock)
    response = await client.put(
        f"{USERS}/{org.employee.id}", headers=org.headers(org.hr), json={"is_active": False}
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert (await client.get(f"{USERS}/me", headers=employee_headers)).status_code == 401
    await session.refresh(refresh)
    assert refresh.revoked_at == clock()


async def test_role_change_ends_sessions(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    employee_headers = org.headers(org.employee)
    supervisor = await f.role(session, "supervisor")
    response = await client.put(
        f"{USERS}/{org.employee.id}",
        headers=org.headers(org.hr),
        json={"role_id": str(supervisor.id)},
    )
    assert response.status_code == 200
    assert response.json()["role"] == "supervisor"
    assert (await client.get(f"{USERS}/me", headers=employee_headers)).status_code == 401
    clock.advance(seconds=2)
    fresh = await client.get(f"{USERS}/me", headers=org.headers(org.employee))
    assert fresh.status_code == 200
    assert "users:read_department" in fresh.json()["permissions"]


async def test_renaming_does_not_end_sessions(client: httpx.AsyncClient, org: Org) -> None:
    employee_headers = org.headers(org.employee)
    await client.put(
        f"{USERS}/{org.employee.id}", headers=org.headers(org.hr), json={"first_name": "Evie"}
    )
    assert (await client.get(f"{USERS}/me", headers=employee_headers)).status_code == 200


async def test_hr_cannot_promote_to_admin(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    admin = await f.role(session, "admin")
    response = await client.put(
        f"{USERS}/{org.employee.id}", headers=org.headers(org.hr), json={"role_id": str(admin.id)}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ROLE_ESCALATION"


async def test_hr_cannot_change_an_admin(client: httpx.AsyncClient, org: Org) -> None:
    # Changing an admin's email would let HR take the account over with a password reset.
    response = await client.put(
        f"{USERS}/{org.admin.id}",
        headers=org.headers(org.hr),
        json={"email": "takeover@example.com"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ROLE_ESCALATION"


async def test_cannot_deactivate_or_demote_yourself(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    headers = org.headers(org.admin)
    employee = await f.role(session, "employee")
    deactivate = await client.put(
        f"{USERS}/{org.admin.id}", headers=headers, json={"is_active": False}
    )
    demote = await client.put(
        f"{USERS}/{org.admin.id}", headers=headers, json={"role_id": str(employee.id)}
    )
    assert deactivate.status_code == demote.status_code == 409
    assert deactivate.json()["error"]["code"] == "CANNOT_CHANGE_SELF"


async def test_update_unknown_user_is_404(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.put(
        f"{USERS}/{uuid.uuid4()}", headers=org.headers(org.hr), json={"first_name": "X"}
    )
    assert response.status_code == 404


async def test_update_bad_input_names_the_field(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.put(
        f"{USERS}/{org.employee.id}",
        headers=org.headers(org.hr),
        json={"first_name": "a\x00", "department_id": str(uuid.uuid4())},
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "body.first_name"
    unknown = await client.put(
        f"{USERS}/{org.employee.id}",
        headers=org.headers(org.hr),
        json={"location_id": str(uuid.uuid4())},
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"]["fields"][0]["field"] == "body.location_id"


async def test_delete_keeps_audit_entries(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    # The employee acts (their own audit entry as actor), then is deleted.
    await client.put(f"{USERS}/me", headers=org.headers(org.employee), json={"first_name": "Ev"})
    employee_id = org.employee.id
    response = await client.delete(f"{USERS}/{employee_id}", headers=org.headers(org.admin))
    assert response.status_code == 204
    session.expunge(org.employee)
    assert await session.get(User, employee_id) is None
    assert (
        await client.get(f"{USERS}/{employee_id}", headers=org.headers(org.hr))
    ).status_code == 404
    [deleted] = await _audit(session, "user.delete", employee_id)
    assert deleted.actor_id == org.admin.id
    assert deleted.old_values is not None
    assert deleted.old_values["email"] == org.employee.email
    [own] = await _audit(session, "user.update_self", employee_id)
    assert own.actor_id == employee_id


async def test_delete_yourself_is_409(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.delete(f"{USERS}/{org.admin.id}", headers=org.headers(org.admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CANNOT_CHANGE_SELF"


async def test_delete_unknown_is_404_and_hr_may_not_delete(
    client: httpx.AsyncClient, org: Org
) -> None:
    assert (
        await client.delete(f"{USERS}/{uuid.uuid4()}", headers=org.headers(org.admin))
    ).status_code == 404
    assert (
        await client.delete(f"{USERS}/{org.employee.id}", headers=org.headers(org.hr))
    ).status_code == 403
