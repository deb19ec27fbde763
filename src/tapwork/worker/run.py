"""`tapwork worker`: the procrastinate worker (periodic and deferred tasks of every domain) and
the outbox delivery loop, in one process. Run as many as you like: periodic tasks run once per
period across all of them, and every mail is leased to exactly one.

SIGTERM/SIGINT stop both cleanly: the mail being sent is finished and recorded, the rest of the
claimed batch is handed back, running tasks get `shutdown_grace_seconds` to finish.

A database restart or failover does not stop it: the delivery loops and the procrastinate
worker each wait with capped exponential backoff and go on when the database answers again
(procrastinate stops its worker when its listener connection dies, so a new one is started).
Only an outage longer than `worker_give_up_seconds` ends the process, with exit code 1
(`WorkerGaveUp`), so a supervisor that restarts on failure restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from procrastinate.worker import Worker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker
from tapwork.kit.clock import utcnow
from tapwork.kit.logging import configure_logging
from tapwork.monitoring import MAIL_FAILURES, MAILS_SENT
from tapwork.notification.delivery import Owner, deliver_batch
from tapwork.worker import jobs

log = structlog.get_logger("tapwork.worker")

SHUTDOWN_GRACE_SECONDS = 30.0
# After a database or other unexpected error, wait this long before trying again, doubling
# on each failure in a row up to the cap (with jitter, so workers do not retry in step).
ERROR_PAUSE_SECONDS = 0.5
ERROR_PAUSE_MAX_SECONDS = 10.0
# A connection attempt longer than this is a failure (never longer than the give-up time).
CONNECT_TIMEOUT_SECONDS = 10.0


class WorkerGaveUp(RuntimeError):
    """The database stayed unreachable for longer than `worker_give_up_seconds`."""


class Backoff:
    """Failures in a row: the pause before the next try, and whether to give up."""

    def __init__(self, give_up_after: float) -> None:
        self.give_up_after = give_up_after
        self.failures = 0
        self.failing_since: float | None = None

    def succeeded(self) -> None:
        self.failures, self.failing_since = 0, None

    def failed(self, what: str) -> float:
        """The pause before the next try; raises WorkerGaveUp past `give_up_after`."""
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
        self.failures += 1
        down_for = now - self.failing_since
        if down_for > self.give_up_after:
            raise WorkerGaveUp(f"{what}: failing for {down_for:.0f}s, giving up")
        nominal = min(ERROR_PAUSE_MAX_SECONDS, ERROR_PAUSE_SECONDS * 2 ** (self.failures - 1))
        pause = nominal / 2 + random.uniform(0, nominal / 2)
        # Never sleep past the deadline: the try after it decides, not one up to 10 s later.
        return float(min(pause, self.give_up_after - down_for + 0.1))


def _quiet_procrastinate(settings: Settings) -> None:
    # procrastinate logs through `logging` (rendered as ECS JSON by configure_logging) and is
    # chatty at INFO (one line per job); keep it one notch quieter.
    logging.getLogger("procrastinate").setLevel(
        max(logging.getLevelName(settings.log_level.upper()), logging.WARNING)
    )


async def run_delivery(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Deliver outbox mail until `stop` is set: drain while batches come back full, else poll.
    Errors (the database restarting) pause it with backoff; WorkerGaveUp past the limit."""
    backoff = Backoff(settings.worker_give_up_seconds)
    owner = Owner(settings.libpq_url)
    try:
        await _deliver_until(sessionmaker, settings, stop, clock, backoff, owner)
    finally:
        await owner.close()


async def _deliver_until(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    stop: asyncio.Event,
    clock: Callable[[], datetime],
    backoff: Backoff,
    owner: Owner,
) -> None:
    while not stop.is_set():
        try:
            result = await deliver_batch(
                sessionmaker,
                settings,
                clock=clock,
                should_stop=stop.is_set,
                owner=await owner.ensure(),
            )
            MAILS_SENT.inc(result.sent)
            MAIL_FAILURES.labels("retrying").inc(result.retrying)
            MAIL_FAILURES.labels("gave_up").inc(result.failed)
            pause = 0.0 if result.claimed >= settings.outbox_batch_size else None
            if backoff.failures:
                log.info("outbox_loop_recovered", failures=backoff.failures)
            backoff.succeeded()
        except Exception as exc:
            pause = backoff.failed("outbox delivery")
            log.warning("outbox_loop_error", error=repr(exc)[:300], retry_in=round(pause, 2))
        if pause == 0.0:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause or settings.outbox_poll_seconds)


async def run_queue(
    app: Any, settings: Settings, stop: asyncio.Event, *, concurrency: int, current: list[Worker]
) -> None:
    """Run procrastinate workers until `stop` is set, a new one whenever one stops by itself
    (it does when its listener or heartbeat loses the database), after a backoff."""
    backoff = Backoff(settings.worker_give_up_seconds)
    while not stop.is_set():
        worker = Worker(
            app=app,
            concurrency=concurrency,
            install_signal_handlers=False,
            shutdown_graceful_timeout=SHUTDOWN_GRACE_SECONDS,
            name="tapwork",
            # LISTEN needs a session of its own, which a transaction pooler does not give:
            # the worker polls instead (procrastinate's fetch_job_polling_interval).
            listen_notify=not settings.behind_transaction_pooler,
        )
        current[:] = [worker]
        started = time.monotonic()
        try:
            await _run_until_stopped(worker, stop)
            error = "stopped by itself"
        except Exception as exc:
            error = repr(exc)[:300]
        if stop.is_set():
            return
        if worker.run_task is not None and time.monotonic() - started > ERROR_PAUSE_MAX_SECONDS * 3:
            # It got going (registered) and ran a good while: a new outage, not the same one.
            # Time spent waiting for a connection at start is part of the same outage.
            backoff.succeeded()
        pause = backoff.failed("procrastinate worker")
        log.warning("queue_worker_restarting", error=error, retry_in=round(pause, 2))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)


async def _run_until_stopped(worker: Worker, stop: asyncio.Event) -> None:
    """`worker.run()`, but a stop that comes while it is still starting (pruning stalled
    workers, registering itself: waiting for a connection while the database is down) ends it
    at once; it has no job to finish yet. Once running, `worker.stop()` (from the signal
    handler) lets its current jobs finish, up to SHUTDOWN_GRACE_SECONDS."""
    run = asyncio.create_task(worker.run())  # type: ignore[no-untyped-call]
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done() and worker.run_task is None:
            run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
    finally:
        stopping.cancel()
        if not run.done():  # our own cancellation: hand it on, graceful as procrastinate's
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run


def connect_timeout(settings: Settings) -> int:
    """Seconds one connection attempt may take before it counts as a failure (libpq's
    connect_timeout; psycopg's default is 130 s, so a failover to an address that does not
    answer would hold every retry, and the give-up, for minutes)."""
    return int(max(2.0, min(CONNECT_TIMEOUT_SECONDS, settings.worker_give_up_seconds)))


async def run_worker(settings: Settings, *, concurrency: int) -> None:
    """Run until SIGTERM/SIGINT (or until the surrounding task is cancelled)."""
    configure_logging(settings.log_level, json=settings.log_json, service="tapwork-worker")
    _quiet_procrastinate(settings)
    # Every libpq connection of this process (SQLAlchemy's pool, procrastinate's, the outbox
    # owner's) honours PGCONNECT_TIMEOUT; an operator's own value wins.
    os.environ.setdefault("PGCONNECT_TIMEOUT", str(connect_timeout(settings)))
    # Two connections for each concurrent task (a report export streams on one and writes its
    # file and progress on the other) and one per delivery loop; procrastinate has its own
    # pool. SQLAlchemy opens them only when needed.
    # A task, the delivery loop or procrastinate's bookkeeping waits this long for a pooled
    # connection (not the pools' 30 s), so neither an outage nor the give-up is held up by it.
    wait = 2.0 * connect_timeout(settings)
    engine = create_engine(
        settings,
        pool_size=2 * concurrency + max(1, settings.outbox_connections),
        max_overflow=2,
        pool_timeout=wait,
    )
    sessionmaker = create_sessionmaker(engine)
    jobs.install_runtime(jobs.Runtime(settings=settings, sessionmaker=sessionmaker))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        async with jobs.open_app(settings, pool_size=concurrency + 3, connection_wait=wait) as app:
            app.perform_import_paths()  # type: ignore[no-untyped-call]
            current: list[Worker] = []

            def stop_all() -> None:
                stop.set()
                for worker in current:
                    worker.stop()  # type: ignore[no-untyped-call]

            def request_stop(signum: int) -> None:
                log.info("worker_stopping", signal=signal.Signals(signum).name)
                stop_all()

            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, request_stop, signum)
            log.info(
                "worker_started",
                concurrency=concurrency,
                tasks=sorted(app.tasks),
                poll_seconds=settings.outbox_poll_seconds,
                smtp_connections=settings.outbox_connections,
            )
            # Each loop claims its own batch (SKIP LOCKED) and keeps its own SMTP connection.
            parts = [
                asyncio.create_task(run_delivery(sessionmaker, settings, stop))
                for _ in range(max(1, settings.outbox_connections))
            ]
            parts.append(
                asyncio.create_task(
                    run_queue(app, settings, stop, concurrency=concurrency, current=current)
                )
            )
            try:
                done, _ = await asyncio.wait(parts, return_when=asyncio.FIRST_COMPLETED)
                # Any part ending on its own (it gave up, or a bug) stops the rest: a
                # half-working worker that looks alive is worse than a restart by the
                # supervisor, and the error it raised makes the exit code non-zero.
                stop_all()
                if any(not task.cancelled() and task.exception() for task in done):
                    # Giving up: the database is gone, so whatever procrastinate's shutdown
                    # would still write cannot be written; let it fail now, not after a
                    # pool timeout per step (a 3 s give-up took ~40 s to exit before).
                    await jobs.close_pool_now(app)
                await asyncio.gather(*parts)
            finally:
                for task in parts:
                    task.cancel()
                await asyncio.gather(*parts, return_exceptions=True)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        jobs.install_runtime(None)
        await engine.dispose()
        log.info("worker_stopped")
