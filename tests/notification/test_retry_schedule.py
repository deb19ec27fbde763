"""OUTBOX_RETRY_SCHEDULE: the delays between attempts, spelled out, so mail rides out a relay
that is down for hours; checked against a real SMTP server that refuses, then accepts."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.devstack.embedded_pg import free_port
from tapwork.notification import delivery
from tapwork.notification.kinds import Kind
from tapwork.notification.service import enqueue
from tests.support.clock import FrozenClock

Maker = async_sessionmaker[AsyncSession]
HOURS_SCHEDULE = "1m,5m,15m,1h,3h,6h"


class OutageHandler:
    """A relay that answers 451 to every recipient while `down`, and accepts once it is up."""

    def __init__(self) -> None:
        self.down = True
        self.refused = 0
        self.accepted: list[str] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.down:
            self.refused += 1
            return "451 4.3.2 System not accepting network messages"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def outage_smtp() -> Any:
    handler = OutageHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


def test_schedule_reads_units_and_sets_the_number_of_attempts() -> None:
    settings = Settings(TAPWORK_ENV="test", outbox_retry_schedule=HOURS_SCHEDULE)

    assert settings.outbox_retry_schedule == [60, 300, 900, 3600, 10800, 21600]
    assert settings.outbox_max_attempts == 7  # a first attempt and one per delay
    # An explicit OUTBOX_MAX_ATTEMPTS wins: the last delay repeats.
    longer = Settings(TAPWORK_ENV="test", outbox_retry_schedule="30s, 2m", outbox_max_attempts=5)
    assert (longer.outbox_retry_schedule, longer.outbox_max_attempts) == ([30, 120], 5)
    rng = random.Random(1)
    delays = [delivery.backoff(n, longer, rng).total_seconds() for n in (1, 2, 3, 4)]
    assert 30 <= delays[0] <= 33
    assert all(120 <= d <= 132 for d in delays[1:])
    # Without a schedule the doubling of base/max applies as before.
    assert Settings(TAPWORK_ENV="test").outbox_max_attempts == 8


@pytest.mark.parametrize(
    "bad", ["5x", "1m,,5m", "-1m", "1.5h", "0s", "8d", "m", "1m;5m", "\uff11m"]
)
def test_a_bad_schedule_is_refused_naming_the_setting_and_the_step(bad: str) -> None:
    with pytest.raises(ValidationError, match="OUTBOX_RETRY_SCHEDULE") as info:
        Settings(TAPWORK_ENV="test", outbox_retry_schedule=bad)
    assert "e.g. 1m,5m,15m,1h,3h,6h" in str(info.value) or "between 1s and 7d" in str(info.value)


def test_the_worker_does_not_start_with_a_bad_schedule() -> None:
    env = {**os.environ, "TAPWORK_ENV": "test", "OUTBOX_RETRY_SCHEDULE": "1m,5 minutes"}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("tapwork")), "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert proc.returncode != 0
    assert "OUTBOX_RETRY_SCHEDULE: '5 minutes' is not a delay like 30s" in proc.stderr


def test_scheduled_delays_are_never_early_and_jitter_at_most_a_tenth() -> None:
    settings = Settings(TAPWORK_ENV="test", outbox_retry_schedule=HOURS_SCHEDULE)
    rng = random.Random(3)
    for attempts, nominal in enumerate(settings.outbox_retry_schedule, start=1):
        delays = {delivery.backoff(attempts, settings, rng).total_seconds() for _ in range(20)}
        assert all(nominal <= d <= nominal * 1.1 for d in delays)
        assert len(delays) > 1


async def test_mail_rides_out_a_relay_down_for_hours_on_the_schedule(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    outage_smtp: tuple[int, OutageHandler],
) -> None:
    port, relay = outage_smtp
    settings.smtp_port = port
    settings.outbox_retry_schedule = [60, 300, 900, 3600, 10800, 21600]
    settings.outbox_max_attempts = 7
    row = await enqueue(session, Kind.ADMIN_ALERT, to="ops@example.com", context={"subject": "X"})
    assert row is not None
    await session.commit()
    rng = random.Random(7)

    # Down for 1m + 5m + 15m + 1h + 3h of retries: five refusals, each waiting its step.
    for attempt, delay in enumerate(settings.outbox_retry_schedule[:5], start=1):
        tried_at = clock()
        result = await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=rng)
        assert (result.claimed, result.retrying) == (1, 1)
        await session.refresh(row)
        assert (row.status, row.attempts) == ("queued", attempt)
        assert "451" in (row.last_error or "")
        assert tried_at + timedelta(seconds=delay) <= row.next_attempt_at
        assert row.next_attempt_at <= tried_at + timedelta(seconds=delay * 1.1)
        clock.set(row.next_attempt_at - timedelta(seconds=1))
        assert (await delivery.deliver_batch(sessionmaker, settings, clock=clock)).claimed == 0
        clock.advance(seconds=1)
    assert relay.refused == 5

    relay.down = False  # the relay is back, more than four hours after the first attempt
    result = await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=rng)

    assert result.sent == 1
    assert relay.accepted == ["ops@example.com"]
    await session.refresh(row)
    assert (row.status, row.attempts) == ("sent", 6)


async def test_mail_gives_up_after_the_last_scheduled_delay(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    outage_smtp: tuple[int, OutageHandler],
) -> None:
    port, relay = outage_smtp
    settings.smtp_port = port
    settings.outbox_retry_schedule = [60, 3600]
    settings.outbox_max_attempts = 3
    row = await enqueue(session, Kind.ADMIN_ALERT, to="ops@example.com", context={"subject": "X"})
    assert row is not None
    await session.commit()

    for _ in range(3):
        await delivery.deliver_batch(sessionmaker, settings, clock=clock)
        clock.advance(hours=2)

    await session.refresh(row)
    assert (row.status, row.attempts) == ("failed", 3)
    assert relay.refused == 3
