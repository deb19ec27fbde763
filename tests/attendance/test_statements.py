"""The scan's SQL budget, asserted: a regression that adds a query fails here.

A check-in or check-out costs 2 statements: the READ (kiosk token, idempotency, rate-limit
counts, badge, holder, shift, manager, latest record, holidays) and the WRITE (counters,
record, scan event, audit entry, outbox rows, throttled kiosk telemetry, in one statement of
CTEs), for one scan or a batch of them. A replay costs the READ alone. The first tests count
what the cursors execute on the harness's session path (no BEGIN/COMMIT of its own: the
harness owns the transaction). The last counts, on the batcher's lane production runs, what
goes over the wire: `BEGIN; EXECUTE read` in one message, `EXECUTE write; COMMIT` in the next,
2 round trips. All go through the pure-ASGI fast path (`attendance/scan/entry.py`), as every
well-formed kiosk scan does.
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import pq
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tests.attendance.conftest import Scanner, badge_code
from tests.attendance.test_concurrency import build_world, idle, live_client  # noqa: F401
from tests.support.clock import FrozenClock
from tests.support.personas import Org

# The test harness wraps each request in a SAVEPOINT; production does not.
_HARNESS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
_MESSAGE = re.compile(r"[FB]\t\d+\t")


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []
    original = psycopg.AsyncCursor.execute

    async def execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        text = query if isinstance(query, str) else str(query)
        if not text.lstrip().upper().startswith(_HARNESS):
            seen.append(" ".join(text.split())[:80])
        return await original(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", execute)
    yield seen
    monkeypatch.setattr(psycopg.AsyncCursor, "execute", original)


async def test_check_in_and_check_out_cost_two_statements_each(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    code = await badge_code(session, org.employee, org.settings, clock())
    with counting(monkeypatch) as seen:
        assert (await scanner.scan(code)).json()["action"] == "check_in"
    assert len(seen) == 2, seen
    clock.advance(hours=8)
    with counting(monkeypatch) as seen:
        assert (await scanner.scan(code)).json()["action"] == "check_out"
    assert len(seen) == 2, seen


async def test_a_replay_costs_one_statement(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    code = await badge_code(session, org.employee, org.settings, clock())
    await scanner.scan(code, scan_id="again")
    with counting(monkeypatch) as seen:
        assert (await scanner.scan(code, scan_id="again")).status_code == 200
    assert len(seen) == 1, seen


@contextmanager
def wire(engine: AsyncEngine) -> Iterator[list[str]]:
    """The protocol messages of every pool connection checked out meanwhile, from libpq's own
    trace: `F` lines were sent, `B` lines received."""
    lines: list[str] = []
    files: dict[int, Any] = {}

    def checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        pgconn = dbapi_conn.driver_connection.pgconn
        files[id(dbapi_conn)] = trace = tempfile.TemporaryFile("w+")  # noqa: SIM115
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def checkin(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is None or (trace := files.pop(id(dbapi_conn), None)) is None:
            return
        dbapi_conn.driver_connection.pgconn.untrace()
        trace.seek(0)
        for line in trace.read().splitlines():
            if _MESSAGE.match(line) or not lines:
                lines.append(line)
            else:  # a multi-line SQL text goes on
                lines[-1] += " " + line
        trace.close()

    pool = engine.sync_engine.pool
    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield lines
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


def flights(lines: list[str]) -> int:
    """Round trips: each run of sent messages answered by a run of received ones."""
    directions = [line.split("\t")[0] for line in lines]
    return sum(1 for a, b in itertools.pairwise(directions) if (a, b) == ("F", "B"))


_COMMAND = re.compile(r"\b(BEGIN|COMMIT|EXECUTE \w+|PREPARE \w+)")


def sent(lines: list[str]) -> list[list[str]]:
    """The simple-protocol queries sent: the commands in each (the values are JSON, with none
    of these words in this test's data)."""
    return [_COMMAND.findall(line) for line in lines if line.split("\t")[:3:2] == ["F", "Query"]]


async def test_a_scan_on_the_engine_is_two_round_trips(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Production's path (the batcher's lane): BEGIN + READ in one flight, WRITE + COMMIT in
    the next, counted on the wire. The first scan on a lane connection PREPAREs the two
    statements; every later one only EXECUTEs them."""
    client, clock = live_client
    world = await build_world(committed_db, settings, kiosks=1, users=1)
    headers = {"X-Kiosk-Token": world.tokens[0]}

    async def scan(n: int) -> None:
        body = {"code_data": world.codes[0], "client_scan_id": f"rt-{n}"}
        response = await client.post("/api/v1/attendance", json=body, headers=headers)
        await idle(client)
        assert response.status_code == 200, response.text
        clock.advance(hours=4)

    await scan(0)
    pool = client._transport.app.state.scan_batcher.pool  # type: ignore[attr-defined]
    for n in range(1, 4):
        with wire(pool) as lines:
            await scan(n)
        assert flights(lines) == 2, [line[:40] for line in lines]
        assert sent(lines) == [
            ["BEGIN", "EXECUTE tapwork_scan_read"],
            ["EXECUTE tapwork_scan_write", "COMMIT"],
        ], sent(lines)
    async with committed_db() as session:
        done = await session.scalar(text("SELECT count(*) FROM attendance_records"))
    assert done == 2
