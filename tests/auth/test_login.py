from __future__ import annotations

import bcrypt
import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.auth.models import RefreshToken
from tapwork.config import Settings
from tapwork.kit.security import hash_token
from tests.auth.conftest import fresh, login
from tests.support import factories as f
from tests.support.factories import PASSWORD
from tests.support.personas import Org


async def test_login_returns_a_token_pair_and_the_user(
    client: httpx.AsyncClient, session: AsyncSession, org: Org, settings: Settings
) -> None:
    response = await login(client, org.supervisor.email.upper())

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_minutes * 60
    assert body["user"] == {
        "id": str(org.supervisor.id),
        "email": org.supervisor.email,
        "first_name": "Sam",
        "last_name": org.supervisor.last_name,
        "role": "supervisor",
        "permissions": sorted(org.supervisor.permissions),
    }
    claims = jwt.decode(
        body["access_token"],
        settings.jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        options={"verify_exp": False},
    )
    assert claims["sub"] == str(org.supervisor.id)
    assert claims["role"] == "supervisor"
    assert {"exp", "iat", "jti"} <= set(claims)
    stored = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(body["refresh_token"]))
    )
    assert stored is not None
    assert stored.user_id == org.supervisor.id
    audit = await session.scalar(
        select(AuditLog).where(
            AuditLog.action == "auth.login", AuditLog.actor_id == org.supervisor.id
        )
    )
    assert audit is not None


async def test_access_token_from_login_is_accepted(client: httpx.AsyncClient, org: Org) -> None:
    token = (await login(client, org.employee.email)).json()["access_token"]
    # change-password with a wrong current password: through the gate, refused on content.
    response = await client.post(
        "/api/v1/auth/change-password",
        json={"current_password": "not my password at all", "new_password": "x" * 20},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422


async def test_wrong_password_and_unknown_email_are_the_same_401(
    client: httpx.AsyncClient, org: Org
) -> None:
    wrong_password = await login(client, org.employee.email, "wrong password, long enough")
    unknown_email = await login(client, "nobody@example.com", "wrong password, long enough")

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json()["error"]["code"] == "INVALID_CREDENTIALS"


async def test_unverified_user_is_refused_only_after_a_correct_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await f.make_user(session, verified=False)

    wrong = await login(client, user.email, "wrong password, long enough")
    right = await login(client, user.email)

    assert wrong.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert right.status_code == 403
    assert right.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"


async def test_deactivated_user_is_refused_only_after_a_correct_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await f.make_user(session, active=False)

    wrong = await login(client, user.email, "wrong password, long enough")
    right = await login(client, user.email)

    assert wrong.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert right.status_code == 403
    assert right.json()["error"]["code"] == "ACCOUNT_DISABLED"


async def test_invited_user_without_a_password_cannot_sign_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await f.make_user(session, password_hash=None)
    response = await login(client, user.email, "")
    assert response.status_code == 422  # an empty password is not even tried
    response = await login(client, user.email, "any password at all")
    assert response.status_code == 401


async def test_bcrypt_hash_verifies_and_is_upgraded_to_argon2id(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    user = await f.make_user(session, password_hash=legacy)

    response = await login(client, user.email)

    assert response.status_code == 200
    upgraded = (await fresh(session, user)).password_hash
    assert upgraded is not None
    assert upgraded.startswith("$argon2id$")
    # The upgraded hash still holds the same password.
    assert (await login(client, user.email)).status_code == 200


async def test_overlong_password_against_a_bcrypt_hash_is_a_plain_401(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    user = await f.make_user(session, password_hash=legacy)
    response = await login(client, user.email, "y" * 200)
    assert response.status_code == 401


async def test_wrong_password_leaves_a_bcrypt_hash_alone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    user = await f.make_user(session, password_hash=legacy)
    await login(client, user.email, "wrong password, long enough")
    assert (await fresh(session, user)).password_hash == legacy


async def test_an_unrecognised_stored_hash_refuses_every_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await f.make_user(session, password_hash="!disabled")
    response = await login(client, user.email, "!disabled")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_CREDENTIALS"
