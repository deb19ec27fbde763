from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.auth.models import RefreshToken
from tapwork.config import Settings
from tapwork.kit.security import hash_token
from tests.auth.conftest import login
from tests.support.clock import FrozenClock
from tests.support.personas import Org

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
CHANGE = "/api/v1/auth/change-password"


async def _stored(session: AsyncSession, raw: str) -> RefreshToken:
    token = await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == hash_token(raw))
        .execution_options(populate_existing=True)
    )
    assert token is not None
    return token


async def _signed_in_probe(client: httpx.AsyncClient, access_token: str) -> int:
    """Status of a signed-in endpoint; 422 means the token got through the gate."""
    response = await client.post(
        CHANGE, json={}, headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status_code


async def test_refresh_rotates_the_pair(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    first = (await login(client, org.employee.email)).json()

    response = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})

    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"]["id"] == str(org.employee.id)
    old = await _stored(session, first["refresh_token"])
    new = await _stored(session, second["refresh_token"])
    assert old.rotated_at is not None
    assert new.family_id == old.family_id
    assert new.revoked_at is None
    assert await _signed_in_probe(client, second["access_token"]) == 422


async def test_reusing_a_rotated_token_revokes_the_whole_family(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    first = (await login(client, org.employee.email)).json()
    second = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()

    replay = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})

    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "REFRESH_TOKEN_REUSED"
    # The revocation outlived the error answer: the newest token of the family is dead too.
    assert (await _stored(session, second["refresh_token"])).revoked_at is not None
    after = await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "INVALID_REFRESH_TOKEN"
    audit = await session.scalar(select(AuditLog).where(AuditLog.action == "auth.refresh_reused"))
    assert audit is not None
    assert audit.actor_id == org.employee.id


async def test_reuse_leaves_other_sign_ins_alone(client: httpx.AsyncClient, org: Org) -> None:
    phone = (await login(client, org.employee.email)).json()
    laptop = (await login(client, org.employee.email)).json()
    await client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})
    await client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})  # replay

    response = await client.post(REFRESH, json={"refresh_token": laptop["refresh_token"]})
    assert response.status_code == 200


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(REFRESH, json={"refresh_token": "x" * 43})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_REFRESH_TOKEN"


async def test_refresh_token_expires(
    client: httpx.AsyncClient, org: Org, settings: Settings, clock: FrozenClock
) -> None:
    pair = (await login(client, org.employee.email)).json()
    clock.advance(days=settings.refresh_token_days, seconds=1)
    response = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "expired"


async def test_refresh_refused_for_a_deactivated_user(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    pair = (await login(client, org.employee.email)).json()
    org.employee.is_active = False
    await session.flush()

    response = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "inactive"


async def test_deactivation_ends_existing_access_tokens_on_the_next_request(
    client: httpx.AsyncClient, session: AsyncSession, org: Org, clock: FrozenClock
) -> None:
    pair = (await login(client, org.employee.email)).json()
    assert await _signed_in_probe(client, pair["access_token"]) == 422

    clock.advance(seconds=5)
    org.employee.is_active = False
    org.employee.sessions_valid_after = clock()
    await session.flush()

    response = await client.post(
        CHANGE, json={}, headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_logout_revokes_the_family(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    first = (await login(client, org.employee.email)).json()
    second = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()

    response = await client.post(LOGOUT, json={"refresh_token": second["refresh_token"]})

    assert response.status_code == 204
    assert response.content == b""
    refused = await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert refused.status_code == 401
    audit = await session.scalar(select(AuditLog).where(AuditLog.action == "auth.logout"))
    assert audit is not None
    assert audit.actor_id == org.employee.id


async def test_logout_with_an_unknown_token_is_still_204(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGOUT, json={"refresh_token": "y" * 43})
    assert response.status_code == 204
