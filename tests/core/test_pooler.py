"""Behind a real PgBouncer in transaction pooling mode (`DATABASE_POOLER=transaction`): the
API's scans (session path and scan lanes) and the worker's jobs and mail delivery work, where
psycopg's prepared statements would otherwise land on server connections that lack them."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.models import ScanEvent
from tapwork.config import Pooler, Settings
from tapwork.db import create_engine
from tapwork.devstack.embedded_pg import free_port
from tests.attendance.test_concurrency import build_world
from tests.support.pgbouncer import PgBouncer
from tests.support.smtp import SmtpServer

TAPWORK = str(Path(sys.executable).with_name("tapwork"))
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def pgbouncer(server_url: str) -> Iterator[PgBouncer]:
    bouncer = PgBouncer(server_url).start()
    yield bouncer
    bouncer.stop()


def _through(bouncer: PgBouncer, database_url: str) -> str:
    return bouncer.url(database_url.rsplit("/", 1)[1])


async def _run_queries(settings: Settings, **engine_options: Any) -> None:
    """The same statement many times on several pooled connections, as a busy API does."""
    engine = create_engine(settings, pool_size=3, max_overflow=0, **engine_options)
    try:

        async def one(n: int) -> None:
            async with engine.connect() as conn:
                for i in range(8):
                    await conn.execute(text("SELECT :n + :i"), {"n": n, "i": i})
                    await conn.commit()

        await asyncio.gather(*(one(n) for n in range(6)))
    finally:
        await engine.dispose()


async def test_the_engine_gets_pooler_safe_settings(
    pgbouncer: PgBouncer, settings: Settings, database_url: str
) -> None:
    settings.database_url = _through(pgbouncer, database_url)
    # Without the setting psycopg prepares a statement after its fifth run, and the pooler may
    # hand the next transaction a server that lacks it ("prepared statement ... does not
    # exist"). Whether it does depends on which server PgBouncer picks, so that failure is not
    # asserted here; what is asserted is that with the setting nothing is prepared and the
    # same load goes through.
    settings.database_pooler = Pooler.TRANSACTION
    assert settings.psycopg_options == {"prepare_threshold": None}
    await _run_queries(settings)


async def test_scans_and_mail_through_pgbouncer(
    pgbouncer: PgBouncer,
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
    database_url: str,
    smtp: SmtpServer,
) -> None:
    world = await build_world(committed_db, settings, kiosks=2, users=6)
    async with committed_db() as session:
        emails = (
            await session.scalars(
                text("SELECT email FROM users WHERE id = ANY(:ids)"), {"ids": world.user_ids}
            )
        ).all()
    url = _through(pgbouncer, database_url)
    metrics_port = free_port()
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": url,
        "DATABASE_POOLER": "transaction",
        "BADGE_SECRET": settings.badge_secret.get_secret_value(),
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "OUTBOX_POLL_SECONDS": "0.2",
        "METRICS_PORT": str(metrics_port),
        "METRICS_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL_SIZE": "3",
        "SCAN_DEBOUNCE_SECONDS": "0",
        "MIN_REST_MINUTES": "0",
    }
    port = free_port()
    api = subprocess.Popen(  # noqa: ASYNC220 - started once, stopped below
        [TAPWORK, "api", "--host", "127.0.0.1", "--port", str(port)], env=env
    )
    worker_env = env | {"METRICS_PORT": "0"}
    worker = subprocess.Popen(  # noqa: ASYNC220
        [TAPWORK, "worker", "--concurrency", "2"], env=worker_env
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if (await client.get("/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "API did not get ready through pgbouncer"
                await asyncio.sleep(0.3)

            async def scan(n: int, code: str) -> httpx.Response:
                return await client.post(
                    "/api/v1/attendance",
                    headers={"X-Kiosk-Token": world.tokens[n % 2]},
                    json={"code_data": code, "client_scan_id": f"bouncer-{n}-{code[-6:]}"},
                )

            # Rounds of concurrent scans (batches on the lanes), then one at a time: more
            # than psycopg's 5 runs before it would prepare a statement on its own.
            answers = []
            for round_ in range(4):
                answers += await asyncio.gather(
                    *(scan(round_ * 10 + i, code) for i, code in enumerate(world.codes))
                )
            for n in range(8):
                answers.append(await scan(100 + n, world.codes[n % len(world.codes)]))
            assert [r.status_code for r in answers if r.status_code >= 300] == []
            assert (await client.get("/ready")).status_code == 200
            # The scan lanes' metrics, on the API's metrics port.
            scraped = (await client.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        applied = [r for r in answers if r.json().get("action") in ("check_in", "check_out")]
        assert 'tapwork_scans_total{result="check_in"}' in scraped
        batches = re.search(r"^tapwork_scan_batch_size_count (\S+)$", scraped, re.MULTILINE)
        scans_in_batches = re.search(r"^tapwork_scan_batch_size_sum (\S+)$", scraped, re.MULTILINE)
        assert batches is not None
        assert scans_in_batches is not None
        assert 0 < float(batches.group(1)) <= len(answers)
        assert float(scans_in_batches.group(1)) == len(answers)
        assert applied

        for email in emails:
            await asyncio.to_thread(smtp.inbox.wait_for, email, 1, 60.0)
    finally:
        for proc in (api, worker):
            proc.terminate()
        for proc in (api, worker):
            proc.wait(timeout=60)
    assert worker.returncode in (0, -15)
    async with committed_db() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(ScanEvent)
            .where(ScanEvent.client_scan_id.like("bouncer-%"))
        )
    assert stored == len(answers)
    with psycopg.connect(pgbouncer.url("pgbouncer"), autocommit=True) as admin:
        pooled = {row[0] for row in admin.execute("SHOW POOLS").fetchall()}
    assert database_url.rsplit("/", 1)[1] in pooled  # the traffic really went through it
