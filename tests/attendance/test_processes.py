"""Two API processes (uvicorn) against one database keep both invariants: one open record per
user, and one answer per (kiosk, client scan id)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.config import Settings
from tapwork.devstack.embedded_pg import free_port
from tests.attendance.test_concurrency import build_world

URL = "/api/v1/attendance"


@pytest.fixture
def api_processes(database_url: str, settings: Settings) -> Iterator[list[str]]:
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": database_url,
        "BADGE_SECRET": settings.badge_secret.get_secret_value(),
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "RATE_LIMIT_SCAN_PER_BADGE_PER_MINUTE": "100000",
        "RATE_LIMIT_SCAN_PER_KIOSK_PER_MINUTE": "100000",
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL_SIZE": "5",
    }
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tapwork.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        for port in ports
    ]
    try:
        deadline = time.monotonic() + 60
        for port in ports:
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "API process did not start"
                time.sleep(0.2)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


async def test_two_processes_keep_both_invariants(
    committed_db: async_sessionmaker[AsyncSession], settings: Settings, api_processes: list[str]
) -> None:
    world = await build_world(committed_db, settings, kiosks=2, users=2)
    async with httpx.AsyncClient(timeout=30) as client:
        race = await asyncio.gather(*(
            client.post(api_processes[n % 2] + URL, headers={"X-Kiosk-Token": world.tokens[n % 2]},
                        json={"code_data": world.codes[0], "client_scan_id": f"p-{n}"})
            for n in range(30)
        ))  # fmt: skip
        same_id = await asyncio.gather(*(
            client.post(base + URL, headers={"X-Kiosk-Token": world.tokens[0]},
                        json={"code_data": world.codes[1], "client_scan_id": "shared-id"})
            for base in api_processes * 5
        ))  # fmt: skip
    assert all(r.status_code < 500 for r in race + same_id)
    assert sorted(r.status_code for r in race) == [200] + [409] * 29
    assert {r.status_code for r in same_id} == {200}
    assert all(r.json() == same_id[0].json() for r in same_id)  # the first answer
    async with committed_db() as session:
        for user_id in world.user_ids:
            open_records = await session.scalar(
                select(func.count())
                .select_from(AttendanceRecord)
                .where(AttendanceRecord.user_id == user_id, AttendanceRecord.check_out_at.is_(None))
            )
            assert open_records == 1
        shared = await session.scalar(
            select(func.count())
            .select_from(ScanEvent)
            .where(ScanEvent.client_scan_id == "shared-id")
        )
        assert shared == 1
