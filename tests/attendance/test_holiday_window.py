"""The holidays that can decide a check-in's status: one window (`holiday.service.window`), read
by the scan (in its SQL) and by HR's corrections alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.holiday import service as holidays
from tapwork.holiday.models import Holiday
from tests.attendance.conftest import Scanner, badge_code
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org


def test_the_window_is_a_local_day_either_side() -> None:
    # 23:30 UTC on 2 March is 13:30 on 3 March in Kiritimati (UTC+14): the work date can be
    # the 2nd, 3rd or 4th there (a night shift belongs to the day it starts), nothing else.
    at = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert holidays.window(at, ZoneInfo("Pacific/Kiritimati")) == (
        date(2026, 3, 2),
        date(2026, 3, 4),
    )
    assert holidays.window(at, ZoneInfo("Pacific/Pago_Pago")) == (
        date(2026, 3, 1),
        date(2026, 3, 3),
    )


async def test_scan_and_correction_see_the_same_holiday(
    scanner: Scanner, client: httpx.AsyncClient, org: Org, session: AsyncSession,
    clock: FrozenClock,
) -> None:  # fmt: skip
    """A night worker checking in after midnight belongs to the day the shift started, and
    that day is a holiday: the scan and a correction of the same instant both say so."""
    night = await f.make_shift(session, start=time(22, 0), end=time(6, 0))
    scanned = await f.make_user(session, shift=night, location=org.location)
    corrected = await f.make_user(session, shift=night, location=org.location)
    session.add(Holiday(holiday_date=date(2026, 3, 2), name="Local day", location_id=None))
    # 00:30 on Tuesday 3 March in Madrid: the Monday night shift, which is a holiday.
    clock.set(datetime(2026, 3, 3, 0, 30, tzinfo=ZoneInfo("Europe/Madrid")))
    response = await scanner.scan(await badge_code(session, scanned, org.settings, clock()))
    assert response.status_code == 200, response.text
    assert (response.json()["work_date"], response.json()["status"]) == ("2026-03-02", "holiday")
    created = await client.post(
        "/api/v1/attendance/corrections",
        json={"user_id": str(corrected.id), "check_in_at": clock().isoformat(),
              "reason": "Badge left at home"},
        headers=org.headers(org.hr),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert (created.json()["work_date"], created.json()["status"]) == ("2026-03-02", "holiday")
