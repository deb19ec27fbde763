"""The worker's metrics port: its own counters and the system's state read from the database
(outbox backlog and age, kiosks' last contact, jobs) on a real `tapwork worker`."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.devstack.embedded_pg import free_port
from tapwork.kiosk.models import Kiosk
from tapwork.notification.models import OutboxEmail
from tests.attendance.test_concurrency import build_world
from tests.support import factories as f

TAPWORK = str(Path(sys.executable).with_name("tapwork"))


def _sample(text: str, name: str, labels: str = "") -> float | None:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


async def test_worker_metrics_show_backlog_kiosks_and_its_own_counts(
    committed_db: async_sessionmaker[AsyncSession], settings: Settings, database_url: str
) -> None:
    world = await build_world(committed_db, settings, kiosks=1, users=1)
    seen = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    async with committed_db() as s:
        user = await f.make_user(s)
        two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
        s.add(OutboxEmail(kind="welcome", to_address=user.email, user_id=user.id, context={},
                          status="queued", created_at=two_hours_ago))  # fmt: skip
        await s.execute(update(Kiosk).values(last_seen_at=seen))
        await s.commit()
    port = free_port()
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": database_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(free_port()),  # nothing listens: every attempt fails and is retried
        "SMTP_TIMEOUT_SECONDS": "1",
        "OUTBOX_POLL_SECONDS": "0.2",
        "METRICS_PORT": str(port),
        "METRICS_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen([TAPWORK, "worker", "--concurrency", "1"], env=env)  # noqa: ASYNC220
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            deadline = time.monotonic() + 90
            while True:
                try:
                    text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                    failures = _sample(
                        text, "tapwork_mail_delivery_failures_total", '{outcome="retrying"}'
                    )
                    if failures:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "no failed delivery counted"
                await asyncio.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    assert _sample(text, "tapwork_state_up") == 1
    assert (_sample(text, "tapwork_outbox_mails", '{status="queued"}') or 0) >= 1
    assert (_sample(text, "tapwork_outbox_oldest_queued_age_seconds") or 0) >= 7000
    kiosk_line = re.search(
        r"^tapwork_kiosk_last_seen_timestamp_seconds\{[^}]*\} (\S+)$", text, re.M
    )
    assert kiosk_line is not None
    assert float(kiosk_line.group(1)) == seen.timestamp()
    assert "tapwork_mail_sent_total" in text
    assert world.tokens  # the kiosk whose last contact is shown
