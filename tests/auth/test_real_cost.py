"""With the production argon2 cost: a login must not stall the event loop, and an unknown
email must cost as much as a wrong password (no timing oracle)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.main import create_app
from tests.support import factories as f
from tests.support.clock import FrozenClock

PRODUCTION_COST = {"argon2_time_cost": 3, "argon2_memory_cost": 65536}


@pytest.fixture
async def real_cost_app(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> FastAPI:
    real = settings.model_copy(update=PRODUCTION_COST)
    app = create_app(real, clock=clock)
    app.state.sessionmaker = sessionmaker
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _timed(client: httpx.AsyncClient, email: str, password: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code, time.perf_counter() - started


async def test_login_does_not_stall_concurrent_health_checks(
    real_cost_app: FastAPI, session: AsyncSession
) -> None:
    hashed = await real_cost_app.state.hasher.hash(f.PASSWORD)
    user = await f.make_user(session, password_hash=hashed)
    gaps: list[float] = []

    async with _client(real_cost_app) as client:
        login = asyncio.create_task(_timed(client, user.email, f.PASSWORD))
        deadline = time.perf_counter() + 30
        while not login.done() and time.perf_counter() < deadline:
            started = time.perf_counter()
            # Bounded polling; the pause also hands the loop to the login task.
            await asyncio.sleep(0.01)
            assert (await client.get("/health")).status_code == 200
            gaps.append(time.perf_counter() - started)
        status, login_seconds = await login

    assert status == 200
    assert login_seconds > 0.1, "argon2 ran at test cost; the test proves nothing"
    # Had the hash run on the event loop, one health check would wait for all of it.
    assert len(gaps) >= 5
    assert max(gaps) < login_seconds / 2, (max(gaps), login_seconds)


async def test_unknown_email_costs_as_much_as_a_wrong_password(
    real_cost_app: FastAPI, session: AsyncSession
) -> None:
    hashed = await real_cost_app.state.hasher.hash(f.PASSWORD)
    user = await f.make_user(session, password_hash=hashed)
    async with _client(real_cost_app) as client:
        known = [await _timed(client, user.email, "wrong password, long") for _ in range(2)]
        unknown = [
            await _timed(client, "nobody@example.com", "wrong password, long") for _ in range(2)
        ]

    assert {status for status, _ in known + unknown} == {401}
    fastest_known = min(seconds for _, seconds in known)
    fastest_unknown = min(seconds for _, seconds in unknown)
    # Without the dummy verification the unknown address answers ~100x faster.
    assert fastest_unknown > fastest_known * 0.5, (fastest_unknown, fastest_known)
