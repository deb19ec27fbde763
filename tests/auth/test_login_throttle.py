"""Failed sign-ins slow the client that fails, never the owner (auth/throttle.py, decision 0007).

Every test signs in through the real app against PostgreSQL, each "client" being its own source
address; the free allowances are lowered so each story is short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.audit.models import AuditLog
from tapwork.auth import jobs as auth_jobs
from tapwork.auth.throttle import LoginFailure
from tapwork.config import Settings
from tapwork.user.models import User
from tapwork.worker import jobs
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.replicas import replicas

LOGIN = "/api/v1/auth/login"
PAIR, CLIENT, ACCOUNT = 3, 6, 4
BASE = 30


@pytest.fixture(autouse=True)
def _small_allowances(settings: Settings, _generous_limits: None) -> None:
    settings.login_free_failures_per_pair = PAIR
    settings.login_free_failures_per_client = CLIENT
    settings.login_free_failures_per_account = ACCOUNT
    settings.login_backoff_base_seconds = BASE
    settings.login_backoff_max_seconds = 900
    settings.login_failure_window_minutes = 15


@pytest.fixture
async def owner(session: AsyncSession) -> User:
    user = await f.make_user(session, email=f"{f.unique('owner')}@example.com")
    await session.commit()
    return user


def _client(app: FastAPI, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _try(
    app: FastAPI, ip: str, email: str, password: str = "wrong guess, long enough"
) -> httpx.Response:
    async with _client(app, ip) as client:
        return await client.post(LOGIN, json={"email": email, "password": password})


async def test_a_client_that_keeps_failing_must_wait(app: FastAPI, owner: User) -> None:
    statuses = [(await _try(app, "203.0.113.7", owner.email)).status_code for _ in range(PAIR + 1)]
    refused = await _try(app, "203.0.113.7", owner.email, f.PASSWORD)

    # The failures are counted although each request's transaction answered 401.
    assert statuses == [401] * PAIR + [429]
    # Even the right password waits: a waiting client learns nothing about its guesses.
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert refused.headers["Retry-After"] == refused.headers["X-RateLimit-Reset"]
    assert refused.headers.get_list("X-RateLimit-Remaining") == ["0"]
    assert 0 < int(refused.headers["Retry-After"]) <= BASE


async def test_the_owner_signs_in_from_a_clean_client_while_others_guess(
    app: FastAPI, owner: User
) -> None:
    # Guesses from one client, then from many (each failing once): both the pair's and the
    # account's allowance are used up.
    for _ in range(PAIR + 2):
        await _try(app, "203.0.113.7", owner.email)
    for n in range(ACCOUNT + 2):
        await _try(app, f"198.51.100.{n}", owner.email)

    response = await _try(app, "192.0.2.55", owner.email, f.PASSWORD)

    assert response.status_code == 200


async def test_a_guess_spread_over_many_clients_slows_every_client_that_failed(
    app: FastAPI, owner: User
) -> None:
    statuses = [(await _try(app, f"198.51.100.{n}", owner.email)).status_code
                for n in range(ACCOUNT + 1)]  # fmt: skip
    again = await _try(app, "198.51.100.0", owner.email)
    elsewhere_failed = await _try(app, "198.51.100.200", "someone-else@example.com")
    then_this_account = await _try(app, "198.51.100.200", owner.email)

    assert statuses == [401] * (ACCOUNT + 1)  # each client failed once: no pair is over
    assert again.status_code == 429  # the account waits for clients that have failed…
    assert elsewhere_failed.status_code == 401
    assert then_this_account.status_code == 429  # …on any account


async def test_each_further_failure_doubles_the_wait(
    app: FastAPI, owner: User, clock: FrozenClock
) -> None:
    ip = "203.0.113.9"
    for _ in range(PAIR + 1):
        await _try(app, ip, owner.email)
    first = int((await _try(app, ip, owner.email)).headers["Retry-After"])
    clock.advance(seconds=first)
    assert (await _try(app, ip, owner.email)).status_code == 401  # the wait is over: a try…
    second = int((await _try(app, ip, owner.email)).headers["Retry-After"])  # …that failed

    assert first == BASE  # the allowance used up: the first wait
    assert second == BASE * 2


async def test_the_counters_forget_after_a_quiet_window_and_a_success_clears_the_pair(
    app: FastAPI, owner: User, clock: FrozenClock
) -> None:
    ip = "203.0.113.10"
    for _ in range(PAIR):
        await _try(app, ip, owner.email)
    clock.advance(minutes=16)
    after_quiet = [(await _try(app, ip, owner.email)).status_code for _ in range(PAIR - 1)]
    success = await _try(app, ip, owner.email, f.PASSWORD)
    after_success = [(await _try(app, ip, owner.email)).status_code for _ in range(PAIR - 1)]

    assert after_quiet == [401] * (PAIR - 1)
    assert success.status_code == 200
    assert after_success == [401] * (PAIR - 1)


async def test_password_spraying_from_one_client_is_slowed(app: FastAPI) -> None:
    statuses = [
        (await _try(app, "203.0.113.11", f"guess{n}@example.com")).status_code
        for n in range(CLIENT + 1)
    ]
    assert statuses == [401] * CLIENT + [429]


async def test_spellings_of_one_address_are_one_account(app: FastAPI, owner: User) -> None:
    """Login reads full-width letters and an upper-case domain as the same account, so the
    throttle does too: a thousand spellings are not a thousand budgets."""
    local, _, domain = owner.email.partition("@")
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in domain)
    spellings = [owner.email, f"{local}@{wide}", owner.email.upper(), f"{local}@{domain.upper()}"]
    statuses = [(await _try(app, "203.0.113.12", email)).status_code for email in spellings]
    assert statuses == [401] * PAIR + [429]


async def test_successful_sign_ins_use_up_no_allowance(app: FastAPI, owner: User) -> None:
    """A shared office address where people sign in all morning is not an attack."""
    statuses = [
        (await _try(app, "203.0.113.13", owner.email, f.PASSWORD)).status_code
        for _ in range(CLIENT + PAIR + 2)
    ]
    assert statuses == [200] * (CLIENT + PAIR + 2)


async def test_every_attempt_from_a_client_is_capped(app: FastAPI, settings: Settings) -> None:
    """Each attempt costs an argon2 hash: a client gets a bounded number a minute, whatever
    they are (the limit that guards the CPU, not the accounts)."""
    settings.rate_limit_login_per_minute = 3
    statuses = [
        (await _try(app, "203.0.113.14", f"any{n}@example.com")).status_code for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


async def test_failed_sign_ins_are_audited_without_the_typed_address(
    app: FastAPI, owner: User, session: AsyncSession
) -> None:
    await _try(app, "203.0.113.15", owner.email)
    await _try(app, "203.0.113.15", "nobody-here@example.com")

    entries = (
        await session.scalars(
            select(AuditLog)
            .where(AuditLog.action == "auth.login_failed", AuditLog.ip == "203.0.113.15")
            .order_by(AuditLog.created_at)
        )
    ).all()
    assert [(e.actor_type, e.resource_id, e.new_values) for e in entries] == [
        ("anonymous", str(owner.id), {"reason": "wrong_password", "wait_seconds": 0}),
        ("anonymous", None, {"reason": "unknown_account", "wait_seconds": 0}),
    ]
    assert all("nobody-here" not in repr(e.new_values) + e.actor_label for e in entries)


@pytest.fixture
async def two_apps(
    settings: Settings, clock: FrozenClock, committed_db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two API processes' worth of state: own engines and pools, one database."""
    async with replicas(settings, clock) as (first, second):
        yield first, second


async def test_failures_count_across_api_processes(
    two_apps: tuple[FastAPI, FastAPI], committed_db: async_sessionmaker[AsyncSession]
) -> None:
    async with committed_db() as session:
        user = await f.make_user(session, email=f"{f.unique('replica')}@example.com")
        await session.commit()
    first, second = two_apps
    statuses = [
        (await _try(app, "203.0.113.16", user.email)).status_code
        for app in (first, second, first, second)
    ]
    assert statuses == [401] * PAIR + [429]


async def test_the_hourly_purge_forgets_quiet_counters(
    app: FastAPI, owner: User, clock: FrozenClock, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession,
) -> None:  # fmt: skip
    await _try(app, "203.0.113.17", owner.email)
    before = await session.scalar(select(func.count()).select_from(LoginFailure))
    clock.advance(minutes=16)
    jobs.install_runtime(jobs.Runtime(settings=settings, sessionmaker=sessionmaker, clock=clock))
    try:
        await auth_jobs.purge_limiters(int(clock().timestamp()))
    finally:
        jobs.install_runtime(None)

    assert before == 3  # the account, the account from this client, the client
    assert await session.scalar(select(func.count()).select_from(LoginFailure)) == 0
