"""Brute-force limits: counted in PostgreSQL, per client IP and per email, across processes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker
from tapwork.main import create_app
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


def _attempt(email: str) -> dict[str, str]:
    return {"email": email, "password": "wrong password, long enough"}


async def test_failed_attempts_count_although_their_requests_roll_back(app: FastAPI) -> None:
    async with _client(app) as client:
        statuses = [
            (await client.post(LOGIN, json=_attempt("victim@example.com"))).status_code
            for _ in range(LIMIT + 1)
        ]
    assert statuses == [401] * LIMIT + [429]


async def test_every_limited_answer_carries_the_headers(app: FastAPI, clock: FrozenClock) -> None:
    async with _client(app) as client:
        first = await client.post(LOGIN, json=_attempt("victim@example.com"))
        for _ in range(LIMIT - 1):
            await client.post(LOGIN, json=_attempt("victim@example.com"))
        over = await client.post(LOGIN, json=_attempt("victim@example.com"))

    assert first.headers["X-RateLimit-Limit"] == str(LIMIT)
    assert first.headers["X-RateLimit-Remaining"] == str(LIMIT - 1)
    assert 0 < int(first.headers["X-RateLimit-Reset"]) <= 60
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "RATE_LIMITED"
    assert over.headers["X-RateLimit-Remaining"] == "0"
    assert int(over.headers["Retry-After"]) == int(over.headers["X-RateLimit-Reset"])
    assert over.json()["error"]["details"]["retry_after_seconds"] == int(
        over.headers["Retry-After"]
    )


async def test_the_limit_lifts_with_the_next_window(app: FastAPI, clock: FrozenClock) -> None:
    async with _client(app) as client:
        for _ in range(LIMIT + 1):
            await client.post(LOGIN, json=_attempt("victim@example.com"))
        clock.advance(minutes=1)
        response = await client.post(LOGIN, json=_attempt("victim@example.com"))
    assert response.status_code == 401


async def test_one_email_is_limited_whatever_the_ip(app: FastAPI) -> None:
    statuses = []
    for n in range(LIMIT + 1):
        async with _client(app, ip=f"198.51.100.{n}") as client:
            response = await client.post(LOGIN, json=_attempt("Victim@Example.com"))
            statuses.append(response.status_code)
    assert statuses[-1] == 429


async def test_one_ip_is_limited_whatever_the_email(app: FastAPI) -> None:
    async with _client(app) as client:
        statuses = [
            (await client.post(LOGIN, json=_attempt(f"guess{n}@example.com"))).status_code
            for n in range(LIMIT + 1)
        ]
    assert statuses[-1] == 429


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
        response = await client.post(LOGIN, json=_attempt("a@example.com"))
    assert response.status_code == 401


@pytest.fixture
async def two_apps(
    settings: Settings, clock: FrozenClock, committed_db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two API processes' worth of state: own engines and pools, one database."""
    apps = []
    for _ in range(2):
        app = create_app(settings, clock=clock)
        app.state.engine = create_engine(settings, pool_size=2, max_overflow=0)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        apps.append(app)
    yield apps[0], apps[1]
    for app in apps:
        await app.state.engine.dispose()


async def test_limits_hold_across_api_processes(two_apps: tuple[FastAPI, FastAPI]) -> None:
    first, second = two_apps
    async with _client(first) as a, _client(second) as b:
        statuses = [
            (await client.post(LOGIN, json=_attempt("victim@example.com"))).status_code
            for client in (a, b, a, b)
        ]
    assert statuses == [401, 401, 401, 429]


async def test_spellings_of_one_address_share_one_budget(app: FastAPI) -> None:
    """Login reads full-width letters and an upper-case domain as the same account, so the
    limit does too: a thousand spellings are not a thousand budgets (issue 12)."""
    spellings = [
        "victim@example.com",
        "victim@ＥＸＡＭＰＬＥ.com",  # full-width domain letters  # noqa: RUF001
        "VICTIM@Example.COM",
        "victim@exａmple.com",  # noqa: RUF001
    ]
    statuses = []
    for n, email in enumerate(spellings):
        # Each from its own address, so only the per-account key can refuse the last one.
        async with _client(app, ip=f"198.51.100.{n + 1}") as client:
            statuses.append((await client.post(LOGIN, json=_attempt(email))).status_code)
    assert statuses == [401] * LIMIT + [429]
