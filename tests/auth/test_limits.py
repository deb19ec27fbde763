"""Brute-force limits of the auth endpoints but sign-in (tests/auth/test_login_throttle.py):
counted in PostgreSQL, per client IP and per email."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tapwork.config import Settings
from tests.auth.conftest import registration
from tests.support.clock import FrozenClock

LOGIN = "/api/v1/auth/login"
LIMIT = 3


@pytest.fixture(autouse=True)
def _tight_limit(settings: Settings, _generous_limits: None) -> None:
    settings.rate_limit_auth_per_minute = LIMIT


def _client(app: FastAPI, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/register", registration()),
        ("/api/v1/auth/password-reset", {"email": "victim@example.com"}),
        ("/api/v1/auth/accept-invite", {"token": "t" * 43, "password": "x" * 20}),
        ("/api/v1/auth/refresh", {"refresh_token": "r" * 43}),
    ],
)
async def test_other_auth_endpoints_are_limited(
    app: FastAPI, path: str, body: dict[str, str]
) -> None:
    async with _client(app) as client:
        responses = [await client.post(path, json=body) for _ in range(LIMIT + 1)]
    assert all("X-RateLimit-Limit" in r.headers for r in responses)
    assert responses[-1].status_code == 429


async def test_limits_of_one_endpoint_do_not_use_up_another(app: FastAPI) -> None:
    async with _client(app) as client:
        for _ in range(LIMIT + 1):
            await client.post("/api/v1/auth/password-reset", json={"email": "a@example.com"})
        response = await client.post(
            "/api/v1/auth/register", json=registration(email="a@example.com")
        )
    assert response.status_code != 429


async def test_every_limited_answer_carries_the_headers(app: FastAPI) -> None:
    path, body = "/api/v1/auth/password-reset", {"email": "victim@example.com"}
    async with _client(app) as client:
        first = await client.post(path, json=body)
        for _ in range(LIMIT - 1):
            await client.post(path, json=body)
        over = await client.post(path, json=body)

    assert first.headers["X-RateLimit-Limit"] == str(LIMIT)
    assert first.headers["X-RateLimit-Remaining"] == str(LIMIT - 1)
    assert 0 < int(first.headers["X-RateLimit-Reset"]) <= 60
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "RATE_LIMITED"
    assert over.headers["X-RateLimit-Remaining"] == "0"
    assert over.headers.get_list("X-RateLimit-Limit") == [str(LIMIT)]
    assert int(over.headers["Retry-After"]) == int(over.headers["X-RateLimit-Reset"])
    assert over.json()["error"]["details"]["retry_after_seconds"] == int(
        over.headers["Retry-After"]
    )


async def test_the_limit_lifts_with_the_next_window(app: FastAPI, clock: FrozenClock) -> None:
    path, body = "/api/v1/auth/password-reset", {"email": "victim@example.com"}
    async with _client(app) as client:
        for _ in range(LIMIT + 1):
            await client.post(path, json=body)
        clock.advance(minutes=1)
        response = await client.post(path, json=body)
    assert response.status_code == 202


async def test_one_email_is_limited_whatever_the_ip(app: FastAPI) -> None:
    statuses = []
    for n in range(LIMIT + 1):
        async with _client(app, ip=f"198.51.100.{n}") as client:
            response = await client.post(
                "/api/v1/auth/password-reset", json={"email": "Victim@Example.com"}
            )
            statuses.append(response.status_code)
    assert statuses == [202] * LIMIT + [429]
