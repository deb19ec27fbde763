"""Password reset, accepting an invitation and changing the password."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.auth import tokens
from tapwork.auth.models import RefreshToken
from tapwork.config import Settings
from tests.auth.conftest import NEW_PASSWORD, audit_actions, fresh, login, mails, token_in
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org

RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
INVITE = "/api/v1/auth/accept-invite"
CHANGE = "/api/v1/auth/change-password"
REFRESH = "/api/v1/auth/refresh"


async def _reset_token(client: httpx.AsyncClient, session: AsyncSession, email: str) -> str:
    response = await client.post(RESET, json={"email": email})
    assert response.status_code == 202
    mail = (await mails(session, email, "password_reset"))[-1]
    url: str = mail.context["reset_url"]
    assert url.startswith("http://portal.test/portal/reset-password?token=")
    return token_in(url)


async def _live_refresh_tokens(session: AsyncSession, user_id: object) -> int:
    rows = await session.scalars(
        select(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .execution_options(populate_existing=True)
    )
    return len(rows.all())


async def test_reset_sets_the_password_and_ends_every_session(
    client: httpx.AsyncClient, session: AsyncSession, org: Org, clock: FrozenClock
) -> None:
    old = (await login(client, org.employee.email)).json()
    token = await _reset_token(client, session, org.employee.email)
    clock.advance(seconds=5)

    response = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})

    assert response.status_code == 204
    assert (await login(client, org.employee.email)).status_code == 401
    assert (await login(client, org.employee.email, NEW_PASSWORD)).status_code == 200
    user = await fresh(session, org.employee)
    assert user.sessions_valid_after == clock()
    refused = await client.post(REFRESH, json={"refresh_token": old["refresh_token"]})
    assert refused.status_code == 401
    old_access = await client.post(
        CHANGE, json={}, headers={"Authorization": f"Bearer {old['access_token']}"}
    )
    assert old_access.status_code == 401
    [changed] = await mails(session, org.employee.email, "password_changed")
    assert changed.context["changed_at"] == clock().isoformat()
    assert "auth.password_reset" in await audit_actions(session, org.employee.id)


async def test_reset_token_works_once(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    token = await _reset_token(client, session, org.employee.email)
    first = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    second = await client.post(
        CONFIRM, json={"token": token, "new_password": "yet another long passphrase"}
    )
    assert first.status_code == 204
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "INVALID_TOKEN"
    assert (await login(client, org.employee.email, NEW_PASSWORD)).status_code == 200


async def test_reset_token_expires(
    client: httpx.AsyncClient,
    session: AsyncSession,
    org: Org,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    token = await _reset_token(client, session, org.employee.email)
    clock.advance(minutes=settings.reset_token_minutes)
    response = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_TOKEN"


async def test_a_newer_reset_link_replaces_the_older_one(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    older = await _reset_token(client, session, org.employee.email)
    newer = await _reset_token(client, session, org.employee.email)
    refused = await client.post(CONFIRM, json={"token": older, "new_password": NEW_PASSWORD})
    assert refused.status_code == 400
    accepted = await client.post(CONFIRM, json={"token": newer, "new_password": NEW_PASSWORD})
    assert accepted.status_code == 204


async def test_weak_new_password_keeps_the_token_usable(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    token = await _reset_token(client, session, org.employee.email)
    weak = await client.post(CONFIRM, json={"token": token, "new_password": org.employee.email})
    assert weak.status_code == 422
    [field] = weak.json()["error"]["details"]["fields"]
    assert field["field"] == "body.new_password"
    assert "email" in field["message"]
    ok = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert ok.status_code == 204


async def test_reset_is_not_mailed_to_deactivated_or_unknown_addresses(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    inactive = await f.make_user(session, active=False)
    for email in (inactive.email, "nobody@example.com"):
        response = await client.post(RESET, json={"email": email})
        assert response.status_code == 202
        assert await mails(session, email) == []


async def test_reset_proves_the_address_of_an_unverified_account(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await f.make_user(session, verified=False)
    token = await _reset_token(client, session, user.email)
    await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert (await login(client, user.email, NEW_PASSWORD)).status_code == 200


async def test_accepting_an_invitation_sets_the_password_and_signs_in(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock, settings: Settings
) -> None:
    user = await f.make_user(session, password_hash=None, verified=False)
    token = await tokens.issue(
        session, user, tokens.Purpose.INVITE, now=clock(), ttl=timedelta(hours=168)
    )

    response = await client.post(INVITE, json={"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == user.email
    assert body["expires_in"] == settings.access_token_minutes * 60
    assert (await client.post(REFRESH, json={"refresh_token": body["refresh_token"]})).is_success
    assert (await fresh(session, user)).email_verified_at == clock()
    assert len(await mails(session, user.email, "welcome")) == 1
    assert "auth.invite_accepted" in await audit_actions(session, user.id)
    again = await client.post(INVITE, json={"token": token, "password": NEW_PASSWORD})
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "INVALID_TOKEN"


async def test_invitation_with_a_weak_password_names_the_field(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    user = await f.make_user(session, password_hash=None, verified=False)
    token = await tokens.issue(
        session, user, tokens.Purpose.INVITE, now=clock(), ttl=timedelta(hours=1)
    )
    response = await client.post(INVITE, json={"token": token, "password": "tooshort"})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "body.password"


async def test_an_invitation_token_is_not_a_reset_token(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    user = await f.make_user(session, password_hash=None, verified=False)
    token = await tokens.issue(
        session, user, tokens.Purpose.INVITE, now=clock(), ttl=timedelta(hours=1)
    )
    response = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 400


async def test_change_password_ends_other_sessions_but_keeps_this_one(
    client: httpx.AsyncClient, session: AsyncSession, org: Org, clock: FrozenClock
) -> None:
    other_device = (await login(client, org.employee.email)).json()
    this_device = (await login(client, org.employee.email)).json()
    clock.advance(seconds=5)

    response = await client.post(
        CHANGE,
        json={"current_password": f.PASSWORD, "new_password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {this_device['access_token']}"},
    )

    assert response.status_code == 200
    fresh_pair = response.json()
    # The fresh pair works; every earlier token (this device's too) does not.
    probe = await client.post(
        CHANGE, json={}, headers={"Authorization": f"Bearer {fresh_pair['access_token']}"}
    )
    assert probe.status_code == 422
    for old in (other_device, this_device):
        stale = await client.post(
            CHANGE, json={}, headers={"Authorization": f"Bearer {old['access_token']}"}
        )
        assert stale.status_code == 401
        refused = await client.post(REFRESH, json={"refresh_token": old["refresh_token"]})
        assert refused.status_code == 401
    assert await _live_refresh_tokens(session, org.employee.id) == 1
    assert (
        await client.post(REFRESH, json={"refresh_token": fresh_pair["refresh_token"]})
    ).is_success
    assert len(await mails(session, org.employee.email, "password_changed")) == 1
    assert "auth.password_changed" in await audit_actions(session, org.employee.id)
    assert (await login(client, org.employee.email, NEW_PASSWORD)).status_code == 200


async def test_change_password_with_a_wrong_current_password_names_the_field(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    response = await client.post(
        CHANGE,
        json={"current_password": "not the password at all", "new_password": NEW_PASSWORD},
        headers=org.headers(org.employee),
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "body.current_password"
    assert await mails(session, org.employee.email) == []
    assert (await login(client, org.employee.email)).status_code == 200


async def test_change_password_applies_the_policy_to_the_new_password(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.post(
        CHANGE,
        json={"current_password": f.PASSWORD, "new_password": "password1234"},
        headers=org.headers(org.employee),
    )
    assert response.status_code == 422
    [field] = response.json()["error"]["details"]["fields"]
    assert field["field"] == "body.new_password"
    assert "common" in field["message"]


async def test_change_password_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.post(
        CHANGE, json={"current_password": f.PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 401
