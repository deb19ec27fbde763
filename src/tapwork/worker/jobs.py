"""The procrastinate App that every domain declares its tasks on, and what those tasks work with.

Domains write `<domain>/jobs.py`:

    from tapwork.worker import jobs
    from tapwork.worker.jobs import app

    @app.periodic(cron="*/5 * * * *", periodic_id="missing_clockouts")
    @app.task(queueing_lock="missing_clockouts")
    async def flag_missing_clockouts(timestamp: int) -> None:
        async with jobs.unit_of_work() as session:
            await do_the_work(session, settings=jobs.runtime().settings, now=jobs.runtime().now())

Periodic tasks run once per period across all workers (procrastinate defers each period once).
The worker (`tapwork.worker.run`) points the App at `settings.libpq_url` and installs the runtime
(settings, sessionmaker, clock) before any task runs; tests call `install_runtime` themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import procrastinate
import psycopg_pool
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork import db
from tapwork.config import Settings
from tapwork.kit.clock import utcnow

# Every domain module that declares tasks: the worker imports them before it runs.
JOB_MODULES = [
    "tapwork.notification.jobs",
    "tapwork.attendance.jobs",
    "tapwork.biometric.jobs",
    "tapwork.auth.jobs",
    "tapwork.report.jobs",
    "tapwork.kiosk.jobs",
]


# The connector carries no address here: importing the App must not read settings (a
# production process without secrets would refuse to import). `open_app` supplies the URL.
app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=JOB_MODULES)


@dataclass(frozen=True, slots=True)
class Runtime:
    """What a task needs from the process that runs it."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime] = field(default=utcnow)

    def now(self) -> datetime:
        return self.clock()


_runtime: Runtime | None = None


def install_runtime(runtime: Runtime | None) -> None:
    """Set (or clear, with None) the runtime that tasks read through `runtime()`."""
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError(
            "tapwork.worker.jobs runtime not installed: run tasks through `tapwork worker`"
        )
    return _runtime


def unit_of_work() -> AbstractAsyncContextManager[AsyncSession]:
    """One transaction for a task (`tapwork.db.unit_of_work` on the runtime's sessionmaker)."""
    return db.unit_of_work(runtime().sessionmaker)


class _PoolOpeningInBackground(psycopg_pool.AsyncConnectionPool):
    """procrastinate opens its pool waiting up to 30 s for the first connection and fails the
    process after that, whatever the worker's give-up setting. Opened in the background, a
    database that is down at start is one more outage: the caller's first query waits
    `connection_wait`, fails, and the worker's backoff and give-up decide."""

    async def open(self, wait: bool = False, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        await super().open(wait=False, timeout=timeout)


@asynccontextmanager
async def open_app(
    settings: Settings, *, pool_size: int = 4, connection_wait: float = 30.0
) -> AsyncIterator[procrastinate.App]:
    """The App connected to `settings.libpq_url` (to run a worker or defer jobs).
    `connection_wait`: how long a caller waits for a pooled connection before an error."""
    connector = procrastinate.PsycopgConnector(
        pool_factory=_PoolOpeningInBackground,
        conninfo=settings.libpq_url,
        min_size=1,
        max_size=pool_size,
        timeout=connection_wait,
        kwargs=settings.psycopg_options,
    )
    with app.replace_connector(connector):
        async with app.open_async():
            yield app


async def close_pool_now(app: procrastinate.App) -> None:
    """Close the App's pool at once: every task waiting for a connection, and everything
    procrastinate still wants to write (a job's status, unregistering the worker), fails now
    instead of each waiting out `connection_wait`. For a worker giving up, not for a stop."""
    connector = app.connector
    if isinstance(connector, procrastinate.PsycopgConnector):
        await connector.pool.close(timeout=1.0)
