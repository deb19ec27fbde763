"""The scan's READ does a bounded amount of work per scan, however busy the badge's day.

Two lookups grow with the badge's history unless the indexes and the SQL bound them: the
holder's latest record (a badge checked in and out forty times today must not read forty
records and sort them) and the badge's scans in the rate-limit window (a flood of one badge
must not make each of its scans count the whole flood). Measured on the real plan the lanes
run (`EXPLAIN ANALYZE` of `sql.READ_MANY`, sequential scans off as on the lanes): the
rows each lookup reads from its table.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.scan import sql, transaction
from tapwork.attendance.scan.request import ScanRequest, prepare
from tapwork.config import Settings
from tests.attendance.conftest import badge_code
from tests.support.clock import FrozenClock
from tests.support.personas import Org

RECORDS_TODAY = 40
EVENTS_IN_MINUTE = 30
LIMIT = 5


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found.extend(_nodes(child))
    return found


def _rows_read(plan: dict[str, Any], table: str) -> float:
    """Rows the plan's scans of `table` produced per loop, the most of any such scan."""
    return max(
        float(n["Actual Rows"] + n.get("Rows Removed by Filter", 0))
        for n in _nodes(plan)
        if n.get("Relation Name") == table
    )


async def _busy_day(session: AsyncSession, org: Org, kiosk_id: uuid.UUID, badge_id: uuid.UUID,
                    now: Any) -> None:  # fmt: skip
    user = org.employee
    for n in range(RECORDS_TODAY):
        start = now - timedelta(minutes=10 * (RECORDS_TODAY - n))
        await session.execute(
            text(
                "INSERT INTO attendance_records (id, user_id, shift_id, location_id, work_date,"
                " check_in_at, check_out_at, status, source, created_at, updated_at)"
                " VALUES (gen_random_uuid(), :u, :s, :l, :d, :a, :b, 'on_time', 'online', :a, :b)"
            ),
            {"u": user.id, "s": org.shift.id, "l": org.location.id, "d": now.date(),
             "a": start, "b": start + timedelta(minutes=5)},
        )  # fmt: skip
    for n in range(EVENTS_IN_MINUTE):
        await session.execute(
            text(
                "INSERT INTO scan_events (id, kiosk_id, client_scan_id, payload_hash, code_data,"
                " user_id, badge_id, result, error_code, received_at, response)"
                " VALUES (gen_random_uuid(), :k, :c, 'x', 'x', :u, :b, 'duplicate',"
                " 'DUPLICATE_SCAN', :at, '{}')"
            ),
            {"k": kiosk_id, "c": f"flood-{n}", "u": user.id, "b": badge_id,
             "at": now - timedelta(seconds=1)},
        )  # fmt: skip
    await session.execute(text("ANALYZE attendance_records"))
    await session.execute(text("ANALYZE scan_events"))


async def test_latest_record_and_badge_count_read_a_bounded_number_of_rows(
    session: AsyncSession, org: Org, settings: Settings, clock: FrozenClock,
    kiosk: tuple[Any, str],
) -> None:  # fmt: skip
    clock.advance(seconds=30)  # inside a rate-limit minute, after the flood
    now = clock()
    code = await badge_code(session, org.employee, settings, now)
    badge = (await session.execute(text("SELECT id FROM badges WHERE code_data = :c"),
                                   {"c": code})).scalar_one()  # fmt: skip
    assert isinstance(badge, uuid.UUID)
    await _busy_day(session, org, kiosk[0].id, badge, now)
    limited = settings.model_copy(update={"rate_limit_scan_per_badge_per_minute": LIMIT})
    item = prepare(ScanRequest(kiosk[1], code, "probe", None, now), limited)
    assert item.badge_id == badge
    items = transaction.json_array([transaction._read_input(0, item, LIMIT)])

    conn = await sql.driver_connection(session)
    await conn.execute("SET LOCAL enable_seqscan = off")  # as on the lanes
    cur = await conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql.READ_MANY,
                             {"items": items})  # fmt: skip
    [[explained]] = await cur.fetchall()
    plan = explained[0]["Plan"]

    # The latest of forty records today is one index entry, not forty rows and a sort.
    assert _rows_read(plan, "attendance_records") == 1
    # Thirty scans of the badge this minute are counted up to the limit, which refuses.
    assert _rows_read(plan, "scan_events") <= LIMIT
    [row] = await sql.fetch_all(conn, sql.READ_MANY, {"items": items})
    assert row["badge_hits"] == LIMIT
    assert row["record_check_in_at"] == now - timedelta(minutes=10)
