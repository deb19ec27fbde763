"""The SPEC's general limit: N requests a minute per user or kiosk, across API processes, with
`X-RateLimit-*` on every limited answer (issue 12, decision 0008)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org
from tests.support.replicas import replicas

LIMIT = 3
ME = "/api/v1/users/me"
KIOSK_ME = "/api/v1/kiosks/me"


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
def limited(app: FastAPI) -> FastAPI:
    app.state.settings.rate_limit_general_per_minute = LIMIT
    return app


def _assert_refused(answer: httpx.Response, wait: int = 60) -> None:
    assert answer.status_code == 429
    assert answer.json() == {
        "error": {
            "code": "RATE_LIMITED",
            "message": f"Too many requests; at most {LIMIT} a minute, try again in {wait} seconds",
            "details": {"retry_after_seconds": wait, "limit": LIMIT, "window_seconds": 60},
        }
    }
    assert answer.headers["Retry-After"] == str(wait)
    assert answer.headers["X-RateLimit-Limit"] == str(LIMIT)
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert answer.headers["X-RateLimit-Reset"] == str(wait)


async def test_a_user_gets_the_limit_a_minute_with_headers_then_429(
    limited: FastAPI, client: httpx.AsyncClient, org: Org, clock: FrozenClock
) -> None:
    headers = org.headers(org.employee)
    answers = [await client.get(ME, headers=headers) for _ in range(LIMIT + 1)]
    assert [a.status_code for a in answers[:LIMIT]] == [200] * LIMIT
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:LIMIT]] == ["2", "1", "0"]
    assert {a.headers["X-RateLimit-Limit"] for a in answers[:LIMIT]} == {str(LIMIT)}
    _assert_refused(answers[-1])
    # Refused requests count too, but only within their minute.
    clock.advance(seconds=60)
    assert (await client.get(ME, headers=headers)).status_code == 200


async def test_each_user_has_a_budget_of_their_own(
    limited: FastAPI, client: httpx.AsyncClient, org: Org
) -> None:
    for _ in range(LIMIT + 1):
        await client.get(ME, headers=org.headers(org.employee))
    answer = await client.get(ME, headers=org.headers(org.hr))
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Remaining"] == str(LIMIT - 1)


async def test_a_forged_token_cannot_spend_someone_elses_budget(
    limited: FastAPI, client: httpx.AsyncClient, org: Org, settings: Settings
) -> None:
    other_key = settings.model_copy(update={"jwt_secret": SecretStr("x" * 64)})
    forged = f.bearer(org.employee, other_key, org.clock())
    for _ in range(LIMIT + 2):
        assert (await client.get(ME, headers=forged)).status_code == 401
    assert (await client.get(ME, headers=org.headers(org.employee))).status_code == 200


async def test_refused_requests_of_any_route_count(
    limited: FastAPI, client: httpx.AsyncClient, org: Org
) -> None:
    headers = org.headers(org.employee)
    for _ in range(LIMIT):  # the employee may not list users: 403, still counted
        assert (await client.get("/api/v1/users", headers=headers)).status_code == 403
    _assert_refused(await client.get(ME, headers=headers))


async def test_a_kiosk_is_limited_but_its_scans_are_not(
    limited: FastAPI, client: httpx.AsyncClient, kiosk_headers: dict[str, str]
) -> None:
    # Scans have their own per-kiosk and per-badge limits (600 and 10 a minute), counted by the
    # scan's group commit; a door in the morning rush must not stop at the general 100.
    for _ in range(LIMIT + 2):
        scan = await client.post(
            "/api/v1/attendance",
            json={"code_data": "not a badge", "client_scan_id": str(uuid.uuid4())},
            headers=kiosk_headers,
        )
        assert scan.status_code == 400, scan.text
        # A body the fast path hands to the FastAPI route: the same exemption.
        fallback = await client.post(
            "/api/v1/attendance", json={"code_data": 1}, headers=kiosk_headers
        )
        assert fallback.status_code == 422
    answers = [await client.get(KIOSK_ME, headers=kiosk_headers) for _ in range(LIMIT + 1)]
    assert [a.status_code for a in answers[:LIMIT]] == [200] * LIMIT
    _assert_refused(answers[-1])


async def test_zero_turns_the_general_limit_off(
    app: FastAPI, client: httpx.AsyncClient, org: Org
) -> None:
    app.state.settings.rate_limit_general_per_minute = 0
    answers = [await client.get(ME, headers=org.headers(org.employee)) for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert "X-RateLimit-Limit" not in answers[-1].headers


async def test_kiosk_pairing_429_carries_the_ratelimit_headers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.state.settings.rate_limit_kiosk_pair_per_minute = 1
    body = {"pairing_code": "ABCD-EFGH"}
    first = await client.post("/api/v1/kiosks/pair", json=body)
    second = await client.post("/api/v1/kiosks/pair", json=body)
    assert first.status_code == 400
    assert first.headers["X-RateLimit-Remaining"] == "0"
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "RATE_LIMITED"
    assert second.headers["Retry-After"] == "60"
    assert (second.headers["X-RateLimit-Limit"], second.headers["X-RateLimit-Remaining"]) == (
        "1",
        "0",
    )
    assert second.headers["X-RateLimit-Reset"] == "60"


@pytest.fixture
async def two_apps(
    settings: Settings, clock: FrozenClock, committed_db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[FastAPI, FastAPI, dict[str, str]]]:
    """Two API processes' worth of state (own engines and pools) on one database, and a user
    whose rows are committed so both see them."""
    settings.rate_limit_general_per_minute = LIMIT
    async with committed_db() as session:
        user = await f.make_user(session)
        await session.commit()
    async with replicas(settings, clock) as (first, second):
        yield first, second, f.bearer(user, settings, clock())


async def test_the_general_limit_holds_across_api_processes(
    two_apps: tuple[FastAPI, FastAPI, dict[str, str]], clock: FrozenClock
) -> None:
    """Each process adds its counts to the shared row at most once a second, and sees the
    others' with them: a second apart, the processes' requests add up exactly."""
    first, second, headers = two_apps
    answers = []
    async with _client(first) as a, _client(second) as b:
        for c in (a, b, a, b):
            clock.advance(seconds=1)
            answers.append(await c.get(ME, headers=headers))
    assert [a.status_code for a in answers[:LIMIT]] == [200] * LIMIT
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:LIMIT]] == ["2", "1", "0"]
    _assert_refused(answers[-1], wait=60 - 4)
