"""The scan's SQL budget, asserted: a regression that adds a query fails here.

A check-in or check-out costs 2 statements: the READ (kiosk token, idempotency, rate limits,
badge, holder, shift, manager, latest record, holidays) and the WRITE (record, scan event,
audit entry, outbox rows, throttled kiosk telemetry, in one statement of CTEs). Plus BEGIN and
COMMIT, which psycopg sends as commands, not through a cursor (BEGIN is pipelined with the
READ: 3 round trips in all). A replay costs the READ alone. Both scans here go through the
pure-ASGI fast path (`attendance/fastpath.py`), as every well-formed kiosk scan does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.attendance.conftest import Scanner, badge_code
from tests.support.clock import FrozenClock
from tests.support.personas import Org

# The test harness wraps each request in a SAVEPOINT; production does not.
_HARNESS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


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
