"""GET/PUT /users/me: own profile and notification preferences."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tests.support.personas import Org

ME = "/api/v1/users/me"


async def test_me_returns_profile_and_permissions(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(ME, headers=org.headers(org.supervisor))
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == org.supervisor.email
    assert body["role"] == "supervisor"
    assert body["department_id"] == str(org.department.id)
    assert "users:read_department" in body["permissions"]
    assert "users:write" not in body["permissions"]
    assert "password_hash" not in body


async def test_an_employee_sees_the_names_and_hours_of_their_placement(
    client: httpx.AsyncClient, org: Org
) -> None:
    headers = org.headers(org.employee)
    body = (await client.get(ME, headers=headers)).json()
    assert body["department"] == {"id": str(org.department.id), "name": "Engineering"}
    assert body["location"]["name"] == "Madrid HQ"
    assert body["location"]["timezone"] == "Europe/Madrid"
    shift = body["shift"]
    assert shift["name"] == "Day"
    assert (shift["start_time"], shift["end_time"]) == (
        org.shift.start_time.isoformat(),
        org.shift.end_time.isoformat(),
    )
    assert shift["working_days"] == org.shift.working_days
    # The lists themselves stay closed to employees: /users/me is how they learn these.
    assert (await client.get("/api/v1/shifts", headers=headers)).status_code == 403


async def test_me_requires_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get(ME)
    assert response.status_code == 401


async def test_update_names_and_merge_preferences(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    headers = org.headers(org.employee)
    first = await client.put(
        ME,
        headers=headers,
        json={"first_name": "  Evelyn ", "notification_preferences": {"late_alert": False}},
    )
    assert first.status_code == 200, first.text
    second = await client.put(
        ME, headers=headers, json={"notification_preferences": {"weekly_summary": False}}
    )
    body = second.json()
    assert body["first_name"] == "Evelyn"
    assert body["notification_preferences"] == {"late_alert": False, "weekly_summary": False}
    entries = (
        await session.scalars(
            select(AuditLog).where(
                AuditLog.resource_id == str(org.employee.id), AuditLog.action == "user.update_self"
            )
        )
    ).all()
    assert len(entries) == 2
    assert entries[0].new_values is not None


async def test_security_mail_cannot_be_turned_off(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.put(
        ME,
        headers=org.headers(org.employee),
        json={"notification_preferences": {"password_reset": False}},
    )
    assert response.status_code == 422
    fields = response.json()["error"]["details"]["fields"]
    assert fields[0]["field"] == "body.notification_preferences"
    assert "password_reset" in fields[0]["message"]


async def test_unknown_notification_kind_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.put(
        ME, headers=org.headers(org.employee), json={"notification_preferences": {"spam": True}}
    )
    assert response.status_code == 422
    assert "spam" in response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "Eve\x00"}, "body.first_name"),
        ({"last_name": "x" * 101}, "body.last_name"),
        ({"first_name": "   "}, "body.first_name"),
        ({"role_id": "00000000-0000-0000-0000-000000000000"}, "body.role_id"),
    ],
)
async def test_bad_profile_input_names_the_field(
    client: httpx.AsyncClient, org: Org, body: dict[str, str], field: str
) -> None:
    response = await client.put(ME, headers=org.headers(org.employee), json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == field


async def test_language_is_changed_in_self_service(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    headers = org.headers(org.employee)
    assert (await client.get(ME, headers=headers)).json()["language"] == "en"

    response = await client.put(ME, json={"language": "es"}, headers=headers)

    assert response.status_code == 200
    assert response.json()["language"] == "es"
    await session.refresh(org.employee)
    assert org.employee.language == "es"
    refused = await client.put(ME, json={"language": "fr"}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["fields"][0]["field"] == "body.language"
