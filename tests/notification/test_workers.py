"""Real worker processes and misbehaving SMTP servers, with real commits (`committed_db`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.db import DbSession
from tapwork.main import create_app
from tapwork.notification import delivery
from tapwork.notification.jobs import prune_sent_mail
from tapwork.notification.kinds import Kind
from tapwork.notification.models import OutboxEmail
from tapwork.notification.service import enqueue
from tapwork.worker import jobs
from tests.notification.conftest import SlowHandler
from tests.support.clock import FrozenClock
from tests.support.smtp import SmtpServer
from tests.support.waiting import until

Maker = async_sessionmaker[AsyncSession]
TAPWORK = Path(sys.executable).parent / "tapwork"
# Importing the service takes seconds on a loaded 2-core box; the bound is generous on purpose.
START_TIMEOUT = 90.0


async def _status(maker: Maker, row_id: uuid.UUID) -> str:
    async with maker() as session:
        return str(await session.scalar(select(OutboxEmail.status).where(OutboxEmail.id == row_id)))


async def test_a_hanging_smtp_server_neither_slows_requests_nor_loses_mail(
    committed_db: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
    hanging_smtp: int,
) -> None:
    app = create_app(settings, clock=clock)
    app.state.sessionmaker = committed_db

    @app.post("/probe/enqueue")
    async def queue_mail(session: DbSession) -> dict[str, bool]:
        await enqueue(session, Kind.ADMIN_ALERT, to="queued-meanwhile@example.com", context={})
        return {"queued": True}

    async with committed_db() as session:
        stuck = await enqueue(session, Kind.ADMIN_ALERT, to="stuck@example.com", context={})
        assert stuck is not None
        await session.commit()
    settings.smtp_port = hanging_smtp
    settings.smtp_timeout_seconds = 5.0
    sending = asyncio.create_task(delivery.deliver_batch(committed_db, settings, clock=clock))

    async def leased() -> bool:
        return await _status(committed_db, stuck.id) == "sending"

    await until(leased, 10, "the worker to lease the mail")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        started = time.monotonic()
        response = await client.post("/probe/enqueue")
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert not sending.done()  # the request did not wait for the stuck send
    assert elapsed < settings.smtp_timeout_seconds / 2
    result = await sending
    assert (result.sent, result.retrying) == (0, 1)
    async with committed_db() as session:
        row = await session.get(OutboxEmail, stuck.id)
        assert row is not None
        assert (row.status, row.attempts) == ("queued", 1)
        assert "Timeout" in (row.last_error or "")

    settings.smtp_port = smtp.port
    clock.advance(minutes=5)
    result = await delivery.deliver_batch(committed_db, settings, clock=clock)

    assert result.sent == 2
    assert len(smtp.inbox.wait_for("stuck@example.com")) == 1
    assert len(smtp.inbox.wait_for("queued-meanwhile@example.com")) == 1


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(TAPWORK), "worker", "--concurrency", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _events(log: Path) -> list[dict[str, object]]:
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


async def test_two_worker_processes_deliver_every_mail_exactly_once(
    committed_db: Maker, database_url: str, smtp: SmtpServer, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    domain = f"{tag}.example.com"
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": database_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "true",
        "OUTBOX_BATCH_SIZE": "10",
        "PYTHONUNBUFFERED": "1",
    }
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [_spawn(env, log) for log in logs]
    try:

        async def both_up() -> bool:
            started = [any(e["message"] == "worker_started" for e in _events(p)) for p in logs]
            for worker, log in zip(workers, logs, strict=True):
                assert worker.poll() is None, log.read_text()
            return all(started)

        await until(both_up, START_TIMEOUT, "two workers to start")

        def arrived(address_part: str) -> int:
            return sum(address_part in str(m["To"]) for m in list(smtp.inbox.messages))

        # One mail on an idle system: how long from commit to the SMTP server.
        async with committed_db() as session:
            await enqueue(session, Kind.ADMIN_ALERT, to=f"first@{domain}", context={})
            await session.commit()
        committed = time.monotonic()

        async def first_arrived() -> bool:
            return arrived(f"first@{domain}") == 1

        await until(first_arrived, 10, "the first mail")
        latency = time.monotonic() - committed

        async with committed_db() as session:
            for n in range(200):
                context = {"subject": f"Batch {n}"}
                await enqueue(session, Kind.ADMIN_ALERT, to=f"m{n}@{domain}", context=context)
            await session.commit()

        async def all_marked_sent() -> bool:
            async with committed_db() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(OutboxEmail)
                    .where(OutboxEmail.status != "sent")
                )
            return waiting == 0

        await until(all_marked_sent, 60, "all 201 mails to be marked sent")

        # The procrastinate half runs tasks too, with the runtime (settings, database) installed.
        async with committed_db() as session:
            registered = await session.scalar(text("SELECT count(*) FROM procrastinate_workers"))
        assert registered == 2
        queue_settings = Settings(TAPWORK_ENV="test", database_url=database_url)
        async with jobs.open_app(queue_settings):
            # procrastinate types a periodic task as taking no arguments; the worker passes
            # `timestamp`, and so does a manual defer.
            job_id = await prune_sent_mail.defer_async(timestamp=0)  # type: ignore[call-arg]

        async def job_done() -> bool:
            async with committed_db() as session:
                status = await session.scalar(
                    text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"),
                    {"id": job_id},
                )
            assert status != "failed"
            return bool(status == "succeeded")

        await until(job_done, 30, "a deferred task to run in a worker")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=30) for worker in workers]

    # Once every row is `sent` no worker can claim it again, so this count is final.
    recipients = [str(m["To"]) for m in list(smtp.inbox.messages) if domain in str(m["To"])]
    assert len(recipients) == 201
    assert len(set(recipients)) == 201
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    per_worker = [
        sum(int(e.get("sent", 0)) for e in _events(log) if e["message"] == "outbox_batch")  # type: ignore[call-overload]
        for log in logs
    ]
    assert sum(per_worker) == 201
    assert min(per_worker) > 0, per_worker  # both really took part
    for log in logs:
        assert any(e["message"] == "worker_stopped" for e in _events(log))
    assert latency < 3.0, f"first mail took {latency:.2f}s"
    print(f"commit→SMTP latency {latency:.2f}s; share per worker {per_worker}")
    async with committed_db() as session:
        left = await session.scalar(text("SELECT count(*) FROM procrastinate_workers"))
    assert left == 0  # both unregistered on SIGTERM


async def test_sigterm_finishes_the_current_send_and_hands_back_the_rest(
    committed_db: Maker,
    database_url: str,
    slow_smtp: tuple[int, SlowHandler],
    tmp_path: Path,
) -> None:
    port, relay = slow_smtp
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": database_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "true",
        "OUTBOX_CONNECTIONS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "worker.log"
    worker = _spawn(env, log)
    try:

        async def up() -> bool:
            assert worker.poll() is None, log.read_text()
            return any(e["message"] == "worker_started" for e in _events(log))

        await until(up, START_TIMEOUT, "the worker to start")
        async with committed_db() as session:
            for n in range(20):
                await enqueue(session, Kind.ADMIN_ALERT, to=f"slow{n}@example.com", context={})
            await session.commit()

        async def first_accepted() -> bool:
            return len(relay.accepted) >= 1

        await until(first_accepted, 20, "the relay to accept a mail")
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.wait, 30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert code == 0, log.read_text()[-2000:]
    async with committed_db() as session:
        rows = (await session.execute(select(OutboxEmail.status, OutboxEmail.attempts))).all()
    statuses = sorted(status for status, _ in rows)
    sent = statuses.count("sent")
    # Everything the relay accepted is recorded as sent; nothing is left leased; the rest
    # is back in the queue with its attempt not counted, for the next worker.
    assert sent == len(relay.accepted)
    assert 1 <= sent < 20
    assert statuses.count("queued") == 20 - sent
    assert all(attempts == 0 for status, attempts in rows if status == "queued")
    assert any(e["message"] == "worker_stopped" for e in _events(log))


# A killed worker's mail waits for a new worker to start (seconds on a loaded box, bounded by
# START_TIMEOUT), then for the sends themselves: not for the 300 s lease.
KILLED_WORKER_BOUND = 60.0


@pytest.mark.timeout(300)
async def test_a_killed_workers_mail_is_delivered_promptly_and_resent_at_most_once(
    committed_db: Maker,
    database_url: str,
    slow_smtp: tuple[int, SlowHandler],
    tmp_path: Path,
) -> None:
    port, relay = slow_smtp
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": database_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "true",
        "OUTBOX_CONNECTIONS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    logs = [tmp_path / "killed.log", tmp_path / "next.log"]
    first = _spawn(env, logs[0])
    second: subprocess.Popen[bytes] | None = None
    try:

        async def up(worker: subprocess.Popen[bytes], log: Path) -> bool:
            assert worker.poll() is None, log.read_text()  # noqa: ASYNC240 (a failure's log)
            return any(e["message"] == "worker_started" for e in _events(log))

        await until(lambda: up(first, logs[0]), START_TIMEOUT, "the first worker to start")
        addresses = [f"kill{n}@example.com" for n in range(20)]
        async with committed_db() as session:
            for address in addresses:
                await enqueue(session, Kind.ADMIN_ALERT, to=address, context={})
            await session.commit()

        async def some_accepted() -> bool:
            return len(relay.accepted) >= 3

        await until(some_accepted, 30, "the relay to accept a few mails")
        first.kill()  # SIGKILL: no handing back, no recording of what was sent
        first.wait()
        killed = time.monotonic()
        second = _spawn(env, logs[1])

        async def all_sent() -> bool:
            async with committed_db() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(OutboxEmail)
                    .where(OutboxEmail.status != "sent")
                )
            return waiting == 0

        await until(all_sent, KILLED_WORKER_BOUND + START_TIMEOUT, "every mail to be sent")
        took = time.monotonic() - killed
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)

    # Every mail arrived; one the relay accepted before the kill but the dead worker had not
    # recorded may arrive twice, never more (it carries the same Message-ID both times).
    assert set(relay.accepted) == set(addresses)
    assert max(relay.accepted.count(a) for a in addresses) <= 2
    assert len(relay.accepted) - len(addresses) <= delivery.MARK_SENT_EVERY
    assert took < KILLED_WORKER_BOUND + START_TIMEOUT
    print(f"\nkill -9 → all 20 mails sent in {took:.1f}s ({len(relay.accepted) - 20} resent)")
