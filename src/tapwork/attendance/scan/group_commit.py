"""Group commit: every scan goes through here, whichever way it came in (`entry.py`). The
scans that arrive while a batch is in flight go together in the next one, one transaction and
two statements for all of them.

At one scan at a time nothing waits: a scan that finds a lane free starts its batch (of one)
at once. Under load, a door's scan waits at most for the batch in flight, and the database
does per batch what it did per scan: one BEGIN, one READ, one WRITE, one COMMIT (one WAL
flush), on one of `SCAN_BATCH_CONNECTIONS` lanes per process instead of a connection per
request. A lane holds its connection (from the lanes' own pool) while scans keep coming and
gives it back when the queue is empty. Every answer is sent after its batch has committed.

A batch takes scans in arrival order and leaves for a later batch a scan of a badge, or of a
(kiosk token, scan id), that a batch in flight already holds, so in one process the second
scan of a badge reads what the first wrote, as if they had come one after another. Across
processes the open-record index and the check-out's `check_out_at IS NULL` decide: one
applies, the other is answered DUPLICATE_SCAN (see `sql.py`). The process's kiosk
rate-limit counts ride along with one batch a second; what is left when no lane runs is
written within that second, or at once on shutdown (`counts.py`).

If the batch fails in the database (a concurrent retry of one of its scan ids in another
process, a deadlock, anything), it is rolled back and each of its scans runs again in a
transaction of its own, so one scan's conflict is nobody else's error; a scan whose own
transaction hits a unique violation (the same kiosk and scan id committed meanwhile by a
concurrent retry) runs once more and replays that answer. Pool pre-ping is off (db.py), so
after a database restart a pooled connection may be dead: a batch that finds its connection
dead has written nothing (or, if the connection died after COMMIT, its scan ids replay the
stored answers); it runs once more on a fresh connection. These are the scan's only retries.

The lanes' connections come from `LanePool` (production: the lanes' own pool on the app's
engine) or, when the app's sessionmaker is bound to something else (the test harness's
rolled-back connection, joined through SAVEPOINTs), from `SessionLanes`: one lane, a session
per connection, the same batching and retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from psycopg import AsyncConnection, OperationalError
from psycopg import Error as DatabaseError
from psycopg.errors import UniqueViolation
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection as SAConnection,
)
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from tapwork.attendance.scan import counts, sql, transaction
from tapwork.attendance.scan.counts import KioskCounts
from tapwork.attendance.scan.metrics import BATCH_SECONDS, BATCH_SIZE
from tapwork.attendance.scan.request import Item, Outcome, ScanRequest, prepare
from tapwork.attendance.scan.transaction import Lane, PooledLane, SessionLane
from tapwork.config import Settings

log = structlog.get_logger("tapwork.attendance.scan.group_commit")

# How the lanes' connections show in pg_stat_activity.
LANE_APPLICATION = "tapwork-scan-lane"
# The longest a lane waits for the kiosks it has just answered to send again (it waits at most
# as long as the batch it answered took, and never when nothing is queued).
GATHER_MAX_SECONDS = 0.010


@dataclass(eq=False, slots=True)
class Waiter:
    item: Item
    future: asyncio.Future[Outcome]
    keys: set[Any] = field(default_factory=set)
    retried: bool = False


class LanePool:
    """The lanes' connections in production: their own small pool on the app's database."""

    def __init__(self, engine: AsyncEngine, size: int, *, pooled: bool = False) -> None:
        self.engine = engine
        self.size = size
        self.pooled = pooled
        # psycopg auto-prepares nothing on it (prepare_threshold None), so it never sends the
        # DEALLOCATE ALL it sends after a ROLLBACK on a connection with statements of its
        # own, which would take the lanes' PREPAREd statements along (the app pool's
        # connections see ORM rollbacks all day). The lanes run only the scan's two
        # statements, whose every lookup is a key probe: with sequential scans off,
        # statistics from when a table was empty (a new deployment, the rate-limit counters
        # after a quiet night) cannot turn a probe into a scan of the table in the plan the
        # lane keeps (measured: 4x the database's CPU).
        connect_args: dict[str, Any] = {
            "prepare_threshold": None,
            "application_name": LANE_APPLICATION,
            "options": "-c enable_seqscan=off",
        }
        if pooled:
            # Behind a transaction pooler: startup options do not survive it (PgBouncer
            # refuses or drops them), and PooledLane sets what it needs per transaction.
            del connect_args["options"]
        self.pool = create_async_engine(
            engine.url,
            pool_size=size,
            max_overflow=0,
            pool_pre_ping=False,
            pool_recycle=1800,
            connect_args=connect_args,
        )
        self._conns: dict[int, SAConnection] = {}

    @contextlib.asynccontextmanager
    async def lane(self) -> AsyncIterator[Lane | PooledLane]:
        async with self.pool.connect() as conn:
            # Closing returns it to the pool, whose reset rolls back anything uncommitted (a
            # dead one is discarded).
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, AsyncConnection)
            lane: Lane | PooledLane = await (PooledLane if self.pooled else Lane).open(
                driver, raw.info
            )
            self._conns[id(lane)] = conn
            try:
                yield lane
            finally:
                del self._conns[id(lane)]
                await lane.close()

    async def disconnected(self, lane: Lane | PooledLane) -> None:
        """Shown to SQLAlchemy, which drops every pooled connection older than now, as
        pre-ping would have found them."""
        await show_disconnect(self._conns[id(lane)])

    async def write_counts(self, rows: str) -> None:
        async with self.engine.begin() as conn:
            await conn.exec_driver_sql(sql.WRITE_COUNTS, {"counts": rows})

    async def dispose(self) -> None:
        await self.pool.dispose()


class SessionLanes:
    """One lane on sessions of a sessionmaker not bound to an engine (the test harness's
    connection): a session per lane connection, each batch committed in it."""

    size = 1

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @contextlib.asynccontextmanager
    async def lane(self) -> AsyncIterator[SessionLane]:
        async with self.sessionmaker() as session:
            lane = await SessionLane.open(session)
            try:
                yield lane
            finally:
                if not lane.broken:
                    await session.rollback()  # a failed batch's leftovers; a no-op otherwise

    async def disconnected(self, lane: SessionLane) -> None:
        await show_disconnect(lane.session)

    async def dispose(self) -> None:
        """The sessionmaker's owner closes its connection."""


Lanes = LanePool | SessionLanes


class ScanBatcher:
    def __init__(self, lanes: Lanes, settings: Settings) -> None:
        self.source = lanes
        self.maker: Any = None  # the sessionmaker `for_app` made it for
        self.settings = settings
        self.max_batch = settings.scan_batch_max
        self.lanes = lanes.size
        self._waiting: deque[Waiter] = deque()
        self._running = 0
        # The badges and (token, scan id)s of the batches in flight.
        self._busy: set[Any] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # The process's kiosk counts ride with the batches on the lanes' pool (`counts.py`);
        # on sessions each batch writes its own, as the test harness's assertions expect.
        self.counts = KioskCounts() if isinstance(lanes, LanePool) else None
        self._counts_writer: asyncio.Task[None] | None = None
        self._counts_now = asyncio.Event()
        self._gathered = asyncio.Event()
        self._gather_target = 0

    async def submit(self, req: ScanRequest) -> Outcome:
        """The scan's answer once its batch has committed; kiosk errors (and a database
        error that outlived the retries) are raised."""
        item = prepare(req, self.settings)
        keys: set[Any] = {(item.token_hash, req.client_scan_id)}
        if item.badge_id is not None:
            keys.add(item.badge_id)
        waiter = Waiter(item, asyncio.get_running_loop().create_future(), keys)
        self._waiting.append(waiter)
        if self._gather_target and len(self._waiting) >= self._gather_target:
            self._gathered.set()
        # A scan whose badge is in flight is taken by that lane when its batch is done.
        if self._running < self.lanes and (first := self._take()):
            self._running += 1
            task = asyncio.create_task(self._lane(first))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await waiter.future

    async def wait_idle(self) -> None:
        """Until every lane has finished and given its connection back, and the kiosk counts
        are written (also counts a failed write left behind)."""
        if self._running == 0:
            self._write_counts_soon()
        while self._tasks:
            self._counts_now.set()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._counts_now.clear()

    @property
    def pool(self) -> AsyncEngine:
        """The lanes' own pool (production)."""
        assert isinstance(self.source, LanePool)
        return self.source.pool

    async def close(self) -> None:
        """Shutdown: the scans in flight finish (and answer), then the lanes' pool closes."""
        await self.wait_idle()
        await self.source.dispose()

    async def _gather(self, answered: int, took: float) -> None:
        """A batch of `answered` scans was just answered (it took `took` seconds), and busy
        doors send again at once: while some but fewer than that many scans wait, give the
        rest as long as that batch took (at most `GATHER_MAX_SECONDS`) to arrive, rather than
        spend a whole transaction (~1 ms of CPU on both sides, whatever its size) on the few
        that came first. Otherwise the kiosks of a process split into cohorts that alternate
        on the lane (measured at c=50: batches of 21 and 5, or of 3 to 5, each a transaction).
        A waiting scan is delayed by at most about one batch; an empty queue never waits (a
        lone scan starts at once), nor does a queue already as long as the last batch."""
        target = min(answered, self.max_batch)
        if not 0 < len(self._waiting) < target:
            return
        self._gather_target = target
        self._gathered.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gathered.wait(), min(took, GATHER_MAX_SECONDS))
        self._gather_target = 0

    def _take(self) -> list[Waiter]:
        taken: list[Waiter] = []
        skipped: list[Waiter] = []
        while self._waiting and len(taken) < self.max_batch:
            waiter = self._waiting.popleft()
            if waiter.future.done():  # the client went away before its scan started
                continue
            if not waiter.keys.isdisjoint(self._busy):
                skipped.append(waiter)
                continue
            self._busy |= waiter.keys
            taken.append(waiter)
        self._waiting.extendleft(reversed(skipped))
        return taken

    async def _lane(self, first: list[Waiter]) -> None:
        """Serve batches on one pool connection until there is nothing to take. The last
        `_take` and the exit happen with no await between, so a scan submitted meanwhile is
        either taken here or finds the lane gone and starts one."""
        pending = first  # the batch in hand; `_serve` replaces its contents batch by batch
        try:
            while pending:
                try:
                    async with self.source.lane() as lane:
                        await self._serve(lane, pending)
                except Exception as exc:  # no connection, or a bug: this batch fails
                    self._finish(pending, [exc] * len(pending))
                    pending.clear()
                if not pending:
                    pending.extend(self._take())
        finally:
            self._running -= 1
            if self._running == 0:
                self._write_counts_soon()

    async def _serve(self, lane: Any, pending: list[Waiter]) -> None:
        """Batches on `lane` until the queue is empty (`pending` left empty), or until its
        connection dies (`pending` left holding the scans to run again on a fresh one)."""
        while pending:
            started = time.monotonic()
            try:
                results = await self._run(lane, [w.item for w in pending])
            except OperationalError as exc:
                if not lane.broken:
                    raise
                await self.source.disconnected(lane)
                again = [w for w in pending if not w.retried]
                self._finish([w for w in pending if w.retried], [exc] * len(pending))
                for waiter in again:
                    waiter.retried = True
                pending[:] = again
                return
            self._finish(pending, results)
            BATCH_SIZE.observe(len(results))
            BATCH_SECONDS.observe(time.monotonic() - started)
            # Let the answers go out, and new scans come in, before the next batch.
            await asyncio.sleep(0)
            await self._gather(len(results), time.monotonic() - started)
            pending[:] = self._take()

    async def _run(self, lane: transaction.Statements, items: list[Item]) -> list[Any]:
        """The batch's results (outcomes, AppErrors, or the database error of a scan).
        Raises OperationalError when the connection is dead."""
        results = await self._attempt(lane, items)
        if not isinstance(results, DatabaseError):
            return results
        if len(items) > 1:
            # One scan's conflict must not fail the others: each again, on its own.
            return [r for item in items for r in await self._run(lane, [item])]
        if isinstance(results, UniqueViolation):
            # The same (kiosk, scan id) committed by a concurrent retry: answer as it did.
            again = await self._attempt(lane, items)
            if not isinstance(again, DatabaseError):
                return again
            results = again
        return [results]

    def _write_counts_soon(self) -> None:
        """With no lane running, the kiosk counts no batch carried are written when due."""
        if self.counts is not None and self.counts.pending and self._counts_writer is None:
            self._counts_writer = asyncio.create_task(self._write_counts())
            self._tasks.add(self._counts_writer)
            self._counts_writer.add_done_callback(self._tasks.discard)

    async def _write_counts(self) -> None:
        assert self.counts is not None
        assert isinstance(self.source, LanePool)
        try:
            delay = self.counts.written_at + self.counts.every - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._counts_now.wait(), max(0.0, delay))
            # A lane running now carries them with its next due batch.
            carried = self.counts.take(now=True) if self._running == 0 else None
            if carried is None:
                return
            try:
                await self.source.write_counts(transaction.json_array(counts.rows(carried)))
            except Exception as exc:  # the database is away: kept for the next write
                self.counts.failed()
                log.warning("scan_kiosk_counts_not_written", error=type(exc).__name__)
            else:
                self.counts.written()
        finally:
            self._counts_writer = None
            self._counts_now.clear()

    async def _attempt(
        self, lane: transaction.Statements, items: list[Item]
    ) -> list[Any] | DatabaseError:
        try:
            return await transaction.run(lane, items, self.settings, self.counts)
        except DatabaseError as exc:
            if lane.broken:
                raise
            await lane.rollback()
            return exc

    def _finish(self, waiters: list[Waiter], results: list[Any]) -> None:
        for waiter, result in zip(waiters, results, strict=False):
            self._busy -= waiter.keys
            _resolve(waiter, result)


def _resolve(waiter: Waiter, result: Any) -> None:
    if waiter.future.done():
        return
    if isinstance(result, BaseException):
        waiter.future.set_exception(result)
    else:
        waiter.future.set_result(result)


def for_app(state: Any, settings: Settings) -> ScanBatcher:
    """The app's batcher (one per process and sessionmaker): on the lanes' own pool when the
    app's sessionmaker is bound to an engine, else on its sessions."""
    maker = state.sessionmaker
    batcher: ScanBatcher | None = getattr(state, "scan_batcher", None)
    if batcher is None or batcher.maker is not maker:
        bind = getattr(maker, "kw", {}).get("bind")
        lanes: Lanes = (
            LanePool(
                bind,
                settings.scan_batch_connections,
                pooled=settings.behind_transaction_pooler,
            )
            if isinstance(bind, AsyncEngine)
            else SessionLanes(maker)
        )
        batcher = state.scan_batcher = ScanBatcher(lanes, settings)
        batcher.maker = maker
    return batcher


async def show_disconnect(target: Any) -> None:
    with contextlib.suppress(DBAPIError):
        await target.execute(text("SELECT 1"))
