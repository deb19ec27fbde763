"""Transaction: one batch of scans as one transaction: READ (one statement for all), settle
each (`settle.settle`, pure), WRITE (one statement for all).

A batch never holds two scans of one badge or two of one (kiosk token, scan id): the second
waits for the next batch (`group_commit.py`), so each scan decides on what the earlier one
wrote, exactly as if they had come one after another. Scans from one kiosk may share a batch;
their rate-limit counts are numbered in arrival order.

The statements run on one of three connections, all with the same interface (`Statements`):
a `Lane` (the group commit's own pool: 2 round trips per batch, BEGIN + READ and WRITE +
COMMIT), a `SessionLane` (an ORM session's connection, for a sessionmaker that is not bound to
an engine: the test harness's rolled-back connection) or `InTransaction` (a psycopg
connection inside the caller's transaction, which commits: tests and `bench/`). A batch of
one is the plain single scan: 2 statements (a replay: 1).
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.errors import InvalidSqlStatementName
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.scan import counts as kiosk_counts
from tapwork.attendance.scan import sql
from tapwork.attendance.scan.counts import KioskCounts
from tapwork.attendance.scan.metrics import count_scan
from tapwork.attendance.scan.request import Item, Outcome
from tapwork.attendance.scan.settle import Settled, settle
from tapwork.config import Settings
from tapwork.errors import AppError

Result = Outcome | AppError


def json_array(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows).decode()


class InTransaction:
    """The statements on a psycopg connection (extended protocol, server-side prepared by
    psycopg), inside the caller's transaction: the caller commits or rolls back."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    @property
    def broken(self) -> bool:
        return self.conn.broken

    async def read(self, items: str) -> list[dict[str, Any]]:
        return await sql.fetch_all(self.conn, sql.READ_MANY, {"items": items})

    async def write(self, params: dict[str, str]) -> set[uuid.UUID]:
        return await sql.write_many(self.conn, params)

    async def finish(self) -> None:
        """The caller commits."""

    async def rollback(self) -> None:
        await self.conn.rollback()


class SessionLane(InTransaction):
    """The statements in an ORM session's transactions, one per batch: committed by `finish`
    (for a session joined to an outer transaction through SAVEPOINTs, as the test harness
    binds it, that releases the SAVEPOINT)."""

    def __init__(self, session: AsyncSession, conn: AsyncConnection[Any]) -> None:
        super().__init__(conn)
        self.session = session

    @classmethod
    async def open(cls, session: AsyncSession) -> SessionLane:
        return cls(session, await sql.driver_connection(session))

    async def read(self, items: str) -> list[dict[str, Any]]:
        # The session's transaction (or SAVEPOINT) begins with its first statement.
        self.conn = await sql.driver_connection(self.session)
        return await super().read(items)

    async def finish(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class Lane:
    """A connection of the batcher's lane pool: autocommit mode (psycopg sends no BEGIN of its
    own), the two statements PREPAREd once per connection, BEGIN sent with the READ and
    COMMIT with the WRITE: a batch is 2 round trips. A batch with nothing to write (only
    replays) sends its COMMIT alone, also 2."""

    PREPARED = "tapwork_scan_prepared"

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, conn: AsyncConnection[Any], info: dict[str, Any]) -> Lane:
        """`info`: the pool's per-connection dict (kept while the connection lives)."""
        if conn.info.parameter_status("standard_conforming_strings") != "on":
            raise RuntimeError("TAPWORK needs standard_conforming_strings = on (the default)")
        await conn.set_autocommit(True)
        # The READ returns the holders' notification preferences as jsonb: orjson, not the
        # standard library, parses them (this connection only).
        set_json_loads(orjson.loads, conn)
        if not info.get(cls.PREPARED):
            await conn.execute(sql.PREPARE)
            info[cls.PREPARED] = True
        return cls(conn)

    async def read(self, items: str) -> list[dict[str, Any]]:
        try:
            return await self._read(items)
        except InvalidSqlStatementName:
            # Someone deallocated them (a DISCARD ALL by a pooler, say): once more.
            await self.conn.rollback()
            await self.conn.execute(sql.PREPARE)
            return await self._read(items)

    async def _read(self, items: str) -> list[dict[str, Any]]:
        async with self.conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql.begin_read(items).encode())
            cur.nextset()  # past BEGIN's result
            return await cur.fetchall()

    async def write(self, params: dict[str, str]) -> set[uuid.UUID]:
        async with self.conn.cursor() as cur:
            await cur.execute(sql.write_commit(params).encode())
            return {row[0] for row in await cur.fetchall()}

    @property
    def broken(self) -> bool:
        return self.conn.broken

    async def finish(self) -> None:
        if self.conn.info.transaction_status == TransactionStatus.INTRANS:
            await self.conn.execute("COMMIT")

    async def rollback(self) -> None:
        await self.conn.rollback()

    async def close(self) -> None:
        """Back to the pool's normal mode; a failed transaction is rolled back first."""
        if self.conn.broken:
            return
        await self.conn.rollback()  # a no-op when idle
        await self.conn.set_autocommit(False)


class PooledLane(InTransaction):
    """A lane behind a transaction pooler (`DATABASE_POOLER=transaction`): nothing may outlive a
    transaction there, so no PREPAREd statements and no per-connection settings. A batch is
    BEGIN, READ, WRITE, COMMIT in one transaction (4 round trips instead of 2), the statements
    parsed and planned each time, sequential scans off for the transaction only."""

    @classmethod
    async def open(cls, conn: AsyncConnection[Any], info: dict[str, Any]) -> PooledLane:
        await conn.set_autocommit(False)
        set_json_loads(orjson.loads, conn)
        return cls(conn)

    async def read(self, items: str) -> list[dict[str, Any]]:
        await self.conn.execute("SET LOCAL enable_seqscan = off", prepare=False)
        params = {"items": items}
        return await sql.fetch_all(self.conn, sql.READ_MANY, params, prepare=False)

    async def write(self, params: dict[str, str]) -> set[uuid.UUID]:
        return await sql.write_many(self.conn, params, prepare=False)

    async def finish(self) -> None:
        await self.conn.commit()

    async def close(self) -> None:
        if not self.conn.broken:
            await self.conn.rollback()


Statements = InTransaction | Lane


async def run(
    statements: Statements,
    items: list[Item],
    settings: Settings,
    counts: KioskCounts | None = None,
) -> list[Result]:
    """READ, settle, WRITE; on a Lane, committed when it returns. Database errors propagate
    (a Lane's transaction is then left failed for `Lane.close` or the next rollback).

    `counts`: the process's kiosk counts not yet written (`counts.py`); the batch writes them
    and its own when they are due. Without, the batch writes its own kiosk counts."""
    limit = settings.rate_limit_scan_per_badge_per_minute
    rows = await statements.read(
        json_array([_read_input(n, item, limit) for n, item in enumerate(items)])
    )
    hits, own = _own_hits(items, rows, counts)
    settled = [
        settle(item, row, mine, settings) for item, row, mine in zip(items, rows, hits, strict=True)
    ]
    params = _write_params(settled)
    carried = counts.take() if counts is not None else None
    if counts is None or carried is not None:
        params["counts"] = kiosk_counts.rows(own + carried if carried else own)
    applied: set[uuid.UUID] = set()
    try:
        if any(params.values()):
            applied = await statements.write(
                {name: json_array(params.get(name, [])) for name in sql.WRITE_PARAMS}
            )
        await statements.finish()
    except BaseException:
        if counts is not None and carried is not None:
            counts.failed()
        raise
    if counts is not None:
        if carried is not None:
            counts.written()
        else:
            counts.add(own)
    results = [_result(one, applied) for one in settled]
    for one, result in zip(settled, results, strict=True):
        if isinstance(result, AppError):
            count_scan(result.code)
        else:
            count_scan(str((one.event or {}).get("result") or "replay"))
    return results


def _read_input(n: int, item: Item, badge_limit: int) -> dict[str, Any]:
    return {
        "i": n,
        "token_hash": item.token_hash,
        "scan_id": item.req.client_scan_id,
        "badge_id": item.badge_id,
        "at": item.req.captured_at or item.req.now,
        "window_start": item.window_start,
        "badge_limit": badge_limit,
    }


def _counted(row: dict[str, Any]) -> bool:
    """A scan the rate limits count: a known, live kiosk's, and not a replay."""
    return (
        row["kiosk_id"] is not None
        and row["kiosk_revoked_at"] is None
        and row["prior_hash"] is None
    )


def _own_hits(
    items: list[Item], rows: list[dict[str, Any]], counts: KioskCounts | None
) -> tuple[list[tuple[int | None, int | None]], Counter[kiosk_counts.Key]]:
    """Each scan's own rate-limit counts (kiosk, badge), and the batch's kiosk counts. The
    READ gives each kiosk's written count and each badge's scan events in the window; the
    k-th counted scan of a kiosk in the batch is that + this process's unwritten count + k.
    A batch never holds two scans of one badge."""
    own: Counter[kiosk_counts.Key] = Counter()
    hits: list[tuple[int | None, int | None]] = []
    for item, row in zip(items, rows, strict=True):
        if not _counted(row):
            hits.append((None, None))
            continue
        kiosk = kiosk_counts.kiosk_key(row["kiosk_id"], item.window_start)
        own[kiosk] += 1
        unwritten = counts.local(kiosk) if counts is not None else 0
        badge_hits = row["badge_hits"] + 1 if item.badge_id is not None else None
        hits.append((row["kiosk_hits"] + unwritten + own[kiosk], badge_hits))
    return hits, own


def _write_params(settled: list[Settled]) -> dict[str, list[dict[str, Any]]]:
    params: dict[str, list[dict[str, Any]]] = {
        "check_ins": [], "check_outs": [], "events": [], "audits": [], "mails": [],
        "touches": [],
    }  # fmt: skip
    touches: dict[Any, dict[str, Any]] = {}
    for one in settled:
        if one.touch is not None:
            touches[one.touch["kiosk_id"]] = one.touch  # one per kiosk: the latest
        for name, row in (("check_ins", one.check_in), ("check_outs", one.check_out),
                          ("events", one.event), ("audits", one.audit)):  # fmt: skip
            if row is not None:
                params[name].append(row)
        params["mails"].extend(one.mails)
    params["touches"] = list(touches.values())
    return params


def _result(one: Settled, applied: set[uuid.UUID]) -> Result:
    if one.error is not None:
        return one.error
    if one.record_id is not None and one.record_id not in applied:
        assert one.lost is not None
        return one.lost
    assert one.outcome is not None
    return one.outcome
