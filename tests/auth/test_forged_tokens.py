"""Forged, altered and misused tokens: every one is a 401 in the envelope, never a 500 or a 200."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from tapwork.kiosk.models import Kiosk
from tests.support.factories import PASSWORD
from tests.support.personas import Org


def _claims(org: Org, **override: Any) -> dict[str, Any]:
    now = int(org.clock().timestamp()) - 1
    claims: dict[str, Any] = {
        "sub": str(org.admin.id),
        "role": "admin",
        "iat": now,
        "exp": now + 900,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    claims.update(override)
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _alg_none(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _tampered(org: Org, secret: str) -> str:
    """A real admin-less token (the employee's) whose payload is swapped for the admin's."""
    genuine = jwt.encode(_claims(org, sub=str(org.employee.id)), secret, algorithm="HS256")
    header, _, signature = genuine.split(".")
    return f"{header}.{_b64(json.dumps(_claims(org)).encode())}.{signature}"


CASES: dict[str, Callable[[Org, str], str]] = {
    "alg none": lambda org, secret: _alg_none(_claims(org)),
    "wrong key": lambda org, secret: jwt.encode(_claims(org), "k" * 64, algorithm="HS256"),
    "wrong algorithm": lambda org, secret: jwt.encode(_claims(org), secret, algorithm="HS512"),
    "tampered claims": _tampered,
    "exp a list": lambda org, secret: jwt.encode(
        _claims(org, exp=[9999999999]), secret, algorithm="HS256"
    ),
    "exp a string": lambda org, secret: jwt.encode(
        _claims(org, exp="9999999999"), secret, algorithm="HS256"
    ),
    "exp a bool": lambda org, secret: jwt.encode(_claims(org, exp=True), secret, algorithm="HS256"),
    "exp out of range": lambda org, secret: jwt.encode(
        _claims(org, exp=10**30), secret, algorithm="HS256"
    ),
    "iat a dict": lambda org, secret: jwt.encode(
        _claims(org, iat={"a": 1}), secret, algorithm="HS256"
    ),
    "sub a number": lambda org, secret: jwt.encode(
        _claims(org, sub=12345), secret, algorithm="HS256"
    ),
    "sub a list": lambda org, secret: jwt.encode(_claims(org, sub=[1]), secret, algorithm="HS256"),
    "sub not a uuid": lambda org, secret: jwt.encode(
        _claims(org, sub="admin"), secret, algorithm="HS256"
    ),
    "jti missing": lambda org, secret: jwt.encode(
        {k: v for k, v in _claims(org).items() if k != "jti"}, secret, algorithm="HS256"
    ),
    "typ refresh": lambda org, secret: jwt.encode(
        _claims(org, typ="refresh"), secret, algorithm="HS256"
    ),
    "expired": lambda org, secret: jwt.encode(
        _claims(org, iat=int(org.clock().timestamp()) - 3600, exp=int(org.clock().timestamp())),
        secret,
        algorithm="HS256",
    ),
    "payload not an object": lambda org, secret: jwt.api_jws.encode(
        b"[1, 2, 3]", secret, algorithm="HS256"
    ),
    "not a jwt": lambda org, secret: "definitely-not.a.token",
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_forged_access_token_is_401(client: httpx.AsyncClient, org: Org, case: str) -> None:
    token = CASES[case](org, org.settings.jwt_secret.get_secret_value())
    response = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_genuine_token_of_that_shape_passes(client: httpx.AsyncClient, org: Org) -> None:
    """The control: the forgeries above differ from this only in what they forge."""
    token = jwt.encode(_claims(org), org.settings.jwt_secret.get_secret_value(), algorithm="HS256")
    response = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


async def test_refresh_token_is_not_an_access_token(client: httpx.AsyncClient, org: Org) -> None:
    login = await client.post(
        "/api/v1/auth/login", json={"email": org.admin.email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    refresh = login.json()["refresh_token"]
    response = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {refresh}"})
    assert response.status_code == 401, response.text


async def test_kiosk_token_is_not_a_user_token(
    client: httpx.AsyncClient, kiosk: tuple[Kiosk, str]
) -> None:
    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {kiosk[1]}"})
    assert response.status_code == 401, response.text


async def test_user_token_is_not_a_kiosk_token(client: httpx.AsyncClient, org: Org) -> None:
    token = org.headers(org.admin)["Authorization"].removeprefix("Bearer ")
    response = await client.get("/api/v1/kiosks/me", headers={"X-Kiosk-Token": token})
    assert response.status_code == 401, response.text


async def test_token_expired_by_the_clock_is_401(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.admin)
    org.clock.advance(minutes=org.settings.access_token_minutes + 1)
    response = await client.get("/api/v1/users", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["details"]["reason"] == "expired"
