"""GET/PUT /api/v1/notifications/settings: how attendance confirmations are sent."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.user.models import User
from tests.support.personas import Org

URL = "/api/v1/notifications/settings"


async def test_admin_switches_confirmations_off_for_new_users(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    admin = org.headers(org.admin)
    assert (await client.get(URL, headers=admin)).json() == {"attendance_confirmations": "per_scan"}

    response = await client.put(
        URL, json={"attendance_confirmations": "off_for_new_users"}, headers=admin
    )

    assert response.status_code == 200
    assert response.json() == {"attendance_confirmations": "off_for_new_users"}
    [entry] = (
        await session.scalars(select(AuditLog).where(AuditLog.action == "notification.settings"))
    ).all()
    assert entry.new_values == {"attendance_confirmations": "off_for_new_users"}
    email = f"nuevo{uuid.uuid4().hex[:6]}@example.com"
    body = {"email": email, "employee_id": f"N-{uuid.uuid4().hex[:6]}", "first_name": "N",
            "last_name": "New"}  # fmt: skip
    assert (await client.post("/api/v1/users", json=body, headers=admin)).status_code == 201
    user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    assert user.notification_preferences == {"attendance_confirmation": False}
    # Existing users keep what they had.
    await session.refresh(org.employee)
    assert "attendance_confirmation" not in org.employee.notification_preferences


async def test_bad_settings_are_refused_naming_the_field(
    client: httpx.AsyncClient, org: Org
) -> None:
    admin = org.headers(org.admin)
    bad = await client.put(URL, json={"attendance_confirmations": "hourly"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "body.attendance_confirmations"
    extra = await client.put(
        URL, json={"attendance_confirmations": "per_scan", "x": 1}, headers=admin
    )
    assert extra.status_code == 422
