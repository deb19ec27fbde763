"""POST /users (invite) and POST /users/{id}/resend-invite."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.auth import tokens
from tapwork.notification.models import OutboxEmail
from tapwork.user.models import User
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org

USERS = "/api/v1/users"


def new_user(**overrides: Any) -> dict[str, Any]:
    body = {
        "email": f"New.Hire{uuid.uuid4().hex[:6]}@Example.com",
        "employee_id": f"N-{uuid.uuid4().hex[:8]}",
        "first_name": "Nina",
        "last_name": "Newhire",
    }
    body.update(overrides)
    return body


async def _invitations(session: AsyncSession, address: str) -> list[OutboxEmail]:
    rows = await session.scalars(
        select(OutboxEmail)
        .where(OutboxEmail.to_address == address, OutboxEmail.kind == "invitation")
        .order_by(OutboxEmail.created_at)
    )
    return list(rows.all())


def _token(row: OutboxEmail) -> str:
    url = urlparse(row.context["accept_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "http://portal.test/portal/accept-invite"
    token: str = parse_qs(url.query)["token"][0]
    return token


async def test_invite_creates_user_and_queues_a_working_invitation(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    body = new_user(department_id=str(org.department.id), shift_id=str(org.shift.id))
    response = await client.post(USERS, headers=org.headers(org.hr), json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["email"] == body["email"].lower()
    assert created["role"] == "employee"
    assert created["invitation_pending"] is True
    assert created["email_verified_at"] is None
    user = await session.get(User, uuid.UUID(created["id"]))
    assert user is not None
    assert user.password_hash is None

    [mail] = await _invitations(session, created["email"])
    assert mail.user_id == user.id
    assert mail.context["invited_by"] == org.hr.full_name
    assert mail.context["first_name"] == "Nina"
    token = await tokens.consume(session, _token(mail), tokens.Purpose.INVITE, now=clock())
    assert token is not None
    assert token.user_id == user.id
    # Single use.
    assert await tokens.consume(session, _token(mail), tokens.Purpose.INVITE, now=clock()) is None

    entry = await session.scalar(
        select(AuditLog).where(
            AuditLog.action == "user.create", AuditLog.resource_id == str(user.id)
        )
    )
    assert entry is not None
    assert entry.actor_id == org.hr.id
    assert entry.new_values is not None
    assert entry.new_values["email"] == created["email"]
    assert "password_hash" not in entry.new_values


async def test_invitation_expires(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    response = await client.post(USERS, headers=org.headers(org.hr), json=new_user())
    [mail] = await _invitations(session, response.json()["email"])
    later = clock.advance(hours=org.settings.invite_token_hours, seconds=1)
    assert await tokens.consume(session, _token(mail), tokens.Purpose.INVITE, now=later) is None


@pytest.mark.parametrize("field", ["email", "employee_id"])
async def test_duplicate_is_409_naming_the_field(
    client: httpx.AsyncClient, org: Org, field: str
) -> None:
    taken = {"email": org.employee.email.upper(), "employee_id": org.employee.employee_id}
    response = await client.post(
        USERS, headers=org.headers(org.hr), json=new_user(**{field: taken[field]})
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"]["field"] == field


@pytest.mark.parametrize("field", ["department_id", "shift_id", "location_id", "role_id"])
async def test_unknown_reference_is_422_naming_the_field(
    client: httpx.AsyncClient, org: Org, field: str
) -> None:
    response = await client.post(
        USERS, headers=org.headers(org.hr), json=new_user(**{field: str(uuid.uuid4())})
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == f"body.{field}"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"first_name": "Ni\x00na"}, "body.first_name"),
        ({"last_name": "L" * 101}, "body.last_name"),
        ({"email": "not-an-email"}, "body.email"),
        ({"employee_id": "E 1"}, "body.employee_id"),
        ({"employee_id": "E" * 65}, "body.employee_id"),
        ({"password_hash": "x"}, "body.password_hash"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, org: Org, overrides: dict[str, str], field: str
) -> None:
    response = await client.post(USERS, headers=org.headers(org.hr), json=new_user(**overrides))
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == field


async def test_hr_cannot_create_an_admin(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    admin_role = await f.role(session, "admin")
    body = new_user(role_id=str(admin_role.id))
    refused = await client.post(USERS, headers=org.headers(org.hr), json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ROLE_ESCALATION"
    assert "settings:write" in refused.json()["error"]["details"]["missing_permissions"]
    assert await session.scalar(select(User).where(User.email == body["email"].lower())) is None
    allowed = await client.post(USERS, headers=org.headers(org.admin), json=body)
    assert allowed.status_code == 201
    assert allowed.json()["role"] == "admin"


async def test_hr_can_create_a_supervisor(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    supervisor = await f.role(session, "supervisor")
    response = await client.post(
        USERS, headers=org.headers(org.hr), json=new_user(role_id=str(supervisor.id))
    )
    assert response.status_code == 201
    assert response.json()["role"] == "supervisor"


async def test_resend_invite_replaces_the_link(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    created = (await client.post(USERS, headers=org.headers(org.hr), json=new_user())).json()
    response = await client.post(
        f"{USERS}/{created['id']}/resend-invite", headers=org.headers(org.hr)
    )
    assert response.status_code == 202
    first, second = await _invitations(session, created["email"])
    now = clock()
    assert await tokens.consume(session, _token(first), tokens.Purpose.INVITE, now=now) is None
    assert await tokens.consume(session, _token(second), tokens.Purpose.INVITE, now=now)


async def test_resend_invite_to_active_account_is_409(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        f"{USERS}/{org.employee.id}/resend-invite", headers=org.headers(org.hr)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "INVITATION_NOT_PENDING"


async def test_resend_invite_unknown_user_is_404(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        f"{USERS}/{uuid.uuid4()}/resend-invite", headers=org.headers(org.hr)
    )
    assert response.status_code == 404


async def test_invited_user_accepts_and_signs_in(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    created = (await client.post(USERS, headers=org.headers(org.hr), json=new_user())).json()
    [mail] = await _invitations(session, created["email"])
    # The page the link opens says whose account it is, without using the invitation up.
    for _ in range(2):
        holder = await client.post("/api/v1/auth/invitation", json={"token": _token(mail)})
        assert holder.status_code == 200, holder.text
        assert holder.json() == {
            "first_name": created["first_name"],
            "full_name": created["full_name"],
            "email": created["email"],
        }
    accepted = await client.post(
        "/api/v1/auth/accept-invite",
        json={"token": _token(mail), "password": "a brand new long passphrase"},
    )
    assert accepted.status_code == 200, accepted.text
    access = accepted.json()["access_token"]
    me = await client.get(f"{USERS}/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200
    assert me.json()["invitation_pending"] is False
    assert me.json()["email_verified_at"] is not None
    used = await client.post("/api/v1/auth/invitation", json={"token": _token(mail)})
    assert used.status_code == 400
    assert used.json()["error"]["code"] == "INVALID_TOKEN"


async def test_invitation_is_in_the_chosen_language_or_the_inviters(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    chosen = new_user(language="es")
    response = await client.post(USERS, json=chosen, headers=org.headers(org.hr))
    assert response.status_code == 201
    assert response.json()["language"] == "es"

    org.hr.language = "es"
    await session.flush()
    inherited = await client.post(USERS, json=new_user(), headers=org.headers(org.hr))
    assert inherited.json()["language"] == "es"
    english = await client.post(USERS, json=new_user(language="en"), headers=org.headers(org.hr))
    assert english.json()["language"] == "en"
    bad = await client.post(USERS, json=new_user(language="xx"), headers=org.headers(org.hr))
    assert bad.status_code == 422
