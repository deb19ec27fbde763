"""Real PostgreSQL, the app's real session factory, personas and a real SMTP server.

One database per xdist worker, built by `alembic upgrade head`. Each test runs inside an outer
transaction that is rolled back; the app's sessions join it through SAVEPOINTs, so production
commit logic runs unchanged. Tests that need real commits (concurrency, workers, several
processes) use `committed_db` and clean up after themselves.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.db import create_engine
from tapwork.main import create_app
from tapwork.migration.revisions import upgrade
from tapwork.role.service import sync_system_roles
from tests.support import postgres
from tests.support.clock import FrozenClock
from tests.support.smtp import SmtpServer


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_db(url: str, name: str) -> str:
    base, _, _ = _libpq(url).rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    given = os.environ.get("TAPWORK_TEST_DATABASE_URL")
    if given:
        yield _libpq(given)
        return
    server = postgres.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(server_url: str, worker_id: str) -> Iterator[str]:
    """A fresh database for this xdist worker, at head, with the system roles."""
    name = f"tapwork_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(server_url, name).replace("postgresql://", "postgresql+psycopg://", 1)
    upgrade(url)
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_settings(database_url: str, smtp: SmtpServer) -> Settings:
    return Settings(
        TAPWORK_ENV="test",
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_timeout_seconds=2.0,
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        log_json=False,
        log_level="WARNING",
        public_url="http://portal.test",
        database_pool_size=5,
    )


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    """Per-test copy: a test may change a setting without leaking it."""
    return base_settings.model_copy()


@pytest.fixture(scope="session")
async def engine(base_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(base_settings)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        await sync_system_roles(session)
        await session.commit()
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for arranging and asserting; sees what the app wrote in this test."""
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday


@pytest.fixture
async def app(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    clock: FrozenClock,
) -> FastAPI:
    app = create_app(settings, clock=clock)
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def committed_db(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A sessionmaker that really commits, for concurrency tests. Truncates what it made."""
    maker = async_sessionmaker(engine, expire_on_commit=False)
    yield maker
    async with engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(
            text(
                "TRUNCATE scan_events, attendance_records, badges, kiosks, email_outbox, "
                "refresh_tokens, action_tokens, audit_logs, rate_limits, login_failures, holidays, "
                "procrastinate_jobs CASCADE"
            )
        )
        await conn.execute(text("UPDATE departments SET manager_id = NULL"))
        await conn.execute(text("DELETE FROM users"))
        await conn.execute(text("DELETE FROM departments"))
        await conn.execute(text("DELETE FROM shifts"))
        await conn.execute(text("DELETE FROM locations"))
        await conn.execute(text("DELETE FROM roles WHERE NOT is_system"))


pytest_plugins = ["tests.support.personas"]
