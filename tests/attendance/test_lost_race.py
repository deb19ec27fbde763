"""A scan that loses the open-record race in the database (another process checked the same
badge in between its READ and its WRITE) is answered 409 DUPLICATE_SCAN, and that answer is
what its scan event stores: the kiosk's retry of the same scan id gets the same 409."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.scan import sql, transaction
from tapwork.attendance.scan.request import LOST_RESPONSE, Outcome, ScanRequest, prepare
from tapwork.config import Settings
from tests.attendance.conftest import badge_code
from tests.support.clock import FrozenClock
from tests.support.personas import Org


class RacedAfterRead(transaction.InTransaction):
    """The READ sees no open record; then another process's check-in of the same holder
    lands before this batch's WRITE."""

    def __init__(self, conn: Any, org: Org) -> None:
        super().__init__(conn)
        self.org = org

    async def read(self, items: str) -> list[dict[str, Any]]:
        rows = await super().read(items)
        now = self.org.clock()
        await self.conn.execute(
            "INSERT INTO attendance_records (id, user_id, location_id, work_date, check_in_at,"
            " status, source, created_at, updated_at) VALUES (gen_random_uuid(), %s, %s, %s, %s,"
            " 'on_time', 'online', %s, %s)",
            (self.org.employee.id, self.org.location.id, now.date(), now, now, now),
        )
        return rows


async def test_the_lost_race_is_answered_409_and_replayed_as_such(
    session: AsyncSession, org: Org, settings: Settings, clock: FrozenClock,
    kiosk: tuple[Any, str],
) -> None:  # fmt: skip
    code = await badge_code(session, org.employee, settings, clock())
    conn = await sql.driver_connection(session)
    item = prepare(ScanRequest(kiosk[1], code, "raced", None, clock()), settings)

    [lost] = await transaction.run(RacedAfterRead(conn, org), [item], settings)

    assert isinstance(lost, Outcome)
    assert lost.http_status == 409
    assert orjson.loads(lost.body)["error"]["code"] == "DUPLICATE_SCAN"
    stored = (
        await session.execute(
            text("SELECT result, response FROM scan_events WHERE client_scan_id = 'raced'")
        )
    ).one()
    assert stored.result == "duplicate"
    assert stored.response == LOST_RESPONSE
    open_records = await session.scalar(
        text("SELECT count(*) FROM attendance_records WHERE user_id = :u AND check_out_at IS NULL"),
        {"u": org.employee.id},
    )
    assert open_records == 1  # the other process's, not a second one

    clock.advance(seconds=2)
    again = prepare(ScanRequest(kiosk[1], code, "raced", None, clock()), settings)
    [replayed] = await transaction.run(transaction.InTransaction(conn), [again], settings)
    assert isinstance(replayed, Outcome)
    assert (replayed.http_status, orjson.loads(replayed.body)) == (409, LOST_RESPONSE["body"])
