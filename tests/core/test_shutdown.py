"""SIGTERM to a real `tapwork api` process: it stops being ready while it still serves, then
finishes the scans in flight (their batch commits and they are answered) and exits cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.models import ScanEvent
from tapwork.config import Settings
from tapwork.devstack.embedded_pg import free_port
from tests.attendance.test_concurrency import build_world

TAPWORK = str(Path(sys.executable).with_name("tapwork"))


async def _until(predicate, within: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def test_sigterm_unready_then_in_flight_scans_finish(
    committed_db: async_sessionmaker[AsyncSession], settings: Settings, database_url: str
) -> None:
    world = await build_world(committed_db, settings, kiosks=1, users=5)
    port = free_port()
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": database_url,
        "BADGE_SECRET": settings.badge_secret.get_secret_value(),
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "SHUTDOWN_DRAIN_SECONDS": "4",
        "METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL_SIZE": "3",
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for in a thread
        [TAPWORK, "api", "--host", "127.0.0.1", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    lock = psycopg.connect(database_url.replace("+psycopg", ""))
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/ready")).status_code == 200
                except httpx.HTTPError:
                    return False

            await _until(ready, within=90)
            # Hold the scans' table so they are in flight when SIGTERM arrives.
            lock.execute("LOCK TABLE scan_events IN ACCESS EXCLUSIVE MODE")
            scans = [
                asyncio.create_task(
                    client.post(
                        "/api/v1/attendance",
                        headers={"X-Kiosk-Token": world.tokens[0]},
                        json={"code_data": code, "client_scan_id": f"drain-{n}"},
                    )
                )
                for n, code in enumerate(world.codes)
            ]

            async def blocked() -> bool:
                row = lock.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                    "'scan_events'::regclass"
                ).fetchone()
                return bool(row and row[0] > 0)

            await _until(blocked)
            proc.send_signal(signal.SIGTERM)

            async def unready() -> bool:
                return (await client.get("/ready")).status_code == 503

            await _until(unready, within=10)
            not_ready = (await client.get("/ready")).json()["error"]
            assert not_ready["code"] == "NOT_READY"
            assert not_ready["details"] == {"state": "draining"}
            assert (await client.get("/health")).status_code == 200  # still serving
            assert not any(task.done() for task in scans)

            lock.rollback()  # the scans go on; the process exits once they are answered
            answers = await asyncio.gather(*scans)
        assert [r.status_code for r in answers] == [200] * len(world.codes), [
            r.text for r in answers
        ]
        # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully.
        assert await asyncio.to_thread(proc.wait, 60) in (0, -signal.SIGTERM)
    finally:
        lock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    async with committed_db() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(ScanEvent)
            .where(ScanEvent.client_scan_id.like("drain-%"))
        )
    assert stored == len(world.codes)
