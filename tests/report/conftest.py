"""Acme: a fixture organisation whose report figures were computed by hand (docs/reports.md).

Week of Monday 23 to Sunday 29 March 2026; the clock reads 1 April, so every day has passed.

- Nora Night (Madrid, Operations, night shift 22:00-06:00 Mon-Sat): on time Monday (21:55 to
  06:02), 20 minutes late Tuesday, absent Wednesday, Thursday is Madrid's holiday, leaves at
  04:00 Friday, works the spring DST night Saturday (22:00 CET to 06:00 CEST: 7 hours).
- Paco Partial (Madrid, Operations, 09:00-17:00 Mon-Fri): a lunch break Monday (08:50-12:00,
  13:00-17:10: the second check-in is not "late"), a partial day Tuesday (09:00-13:00), late
  Wednesday (09:10-17:30), works the holiday Thursday (10:00-14:00), Friday entered by HR
  (a correction), works Saturday, a non-working day (10:00-12:00).
- Olive Offline (New York, Sales, 09:00-17:00 Mon-Fri): Monday sent from the offline queue,
  Tuesday only a held offline scan (awaiting review: absent), Wednesday 09:03 (within grace),
  Thursday no check-out (open), Friday 08:55-17:05.

Records are written with the scan engine's rules (`attendance.rules`), as a scan would store
them; the correction goes through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance import rules
from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.holiday.models import Holiday
from tapwork.kiosk.models import Kiosk
from tapwork.kit.security import hash_token, new_token
from tapwork.location.models import Location
from tapwork.shift.models import Shift
from tapwork.user.models import User
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org

NOW = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
WEEK = (date(2026, 3, 23), date(2026, 3, 29))


@dataclass
class Acme:
    nora: User
    paco: User
    olive: User
    madrid: Location
    new_york: Location
    operations_id: object
    sales_id: object


def _rule(shift: Shift) -> rules.ShiftRule:
    return rules.ShiftRule(
        shift.start_time,
        shift.end_time,
        shift.grace_minutes,
        shift.early_threshold_minutes,
        frozenset(shift.working_days),
    )


async def _record(
    session: AsyncSession,
    user: User,
    shift: Shift,
    location: Location,
    check_in: datetime,
    check_out: datetime | None,
    *,
    holidays: frozenset[date] = frozenset(),
    source: str = "online",
) -> None:
    tz = ZoneInfo(location.timezone)
    rule = _rule(shift)
    at_in, at_out = check_in.astimezone(UTC), check_out.astimezone(UTC) if check_out else None
    result = rules.classify_check_in(at_in, rule, tz, holidays)
    record = AttendanceRecord(
        user_id=user.id, shift_id=shift.id, location_id=location.id, work_date=result.work_date,
        check_in_at=at_in, check_out_at=at_out, status=result.status.value,
        minutes_late=result.minutes_late, source=source,
    )  # fmt: skip
    if at_out is not None:
        out = rules.classify_check_out(at_in, at_out, result.status, rule, result.work_date, tz)
        record.worked_minutes, record.overtime_minutes = out.worked_minutes, out.overtime_minutes
        record.early_leave_minutes = out.early_leave_minutes
    session.add(record)
    await session.flush()


def _at(tz: str, y: int, mo: int, d: int, h: int, mi: int) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz))


@pytest.fixture
async def acme(
    session: AsyncSession, org: Org, clock: FrozenClock, client: httpx.AsyncClient
) -> Acme:
    clock.set(NOW)
    madrid = await f.make_location(session, name="Acme Madrid", timezone="Europe/Madrid")
    new_york = await f.make_location(session, name="Acme New York", timezone="America/New_York")
    night = await f.make_shift(
        session, name="Acme night", start=time(22), end=time(6), working_days=[1, 2, 3, 4, 5, 6]
    )
    day = await f.make_shift(session, name="Acme day", start=time(9), end=time(17))
    operations = await f.make_department(session, name="Operations")
    sales = await f.make_department(session, name="Sales NY")
    nora = await f.make_user(
        session, department=operations, shift=night, location=madrid,
        first_name="Nora", last_name="Night",
    )  # fmt: skip
    paco = await f.make_user(
        session, department=operations, shift=day, location=madrid,
        first_name="Paco", last_name="Partial",
    )  # fmt: skip
    olive = await f.make_user(
        session, department=sales, shift=day, location=new_york,
        first_name="Olive", last_name="Offline",
    )  # fmt: skip
    nora.employee_id, paco.employee_id, olive.employee_id = "N001", "P001", "O001"
    # Everyone's account predates the week (days before an account existed are not scheduled).
    await session.execute(update(User).values(created_at=datetime(2026, 1, 5, tzinfo=UTC)))
    session.add(Holiday(holiday_date=date(2026, 3, 26), name="Fiesta local", location_id=madrid.id))
    await session.flush()
    holiday = frozenset({date(2026, 3, 26)})

    md, ny = "Europe/Madrid", "America/New_York"
    # Nora, night shift (CET until the night of Saturday 28 March).
    await _record(
        session, nora, night, madrid, _at(md, 2026, 3, 23, 21, 55), _at(md, 2026, 3, 24, 6, 2)
    )
    await _record(
        session, nora, night, madrid, _at(md, 2026, 3, 24, 22, 20), _at(md, 2026, 3, 25, 6, 0)
    )
    await _record(
        session, nora, night, madrid, _at(md, 2026, 3, 27, 22, 0), _at(md, 2026, 3, 28, 4, 0)
    )
    await _record(
        session, nora, night, madrid, _at(md, 2026, 3, 28, 22, 0), _at(md, 2026, 3, 29, 6, 0)
    )
    # Autumn: the night of Saturday 24 October is 9 hours long.
    await _record(
        session, nora, night, madrid, _at(md, 2026, 10, 24, 22, 0), _at(md, 2026, 10, 25, 6, 0)
    )
    # Paco, day shift in Madrid.
    await _record(
        session, paco, day, madrid, _at(md, 2026, 3, 23, 8, 50), _at(md, 2026, 3, 23, 12, 0)
    )
    await _record(
        session, paco, day, madrid, _at(md, 2026, 3, 23, 13, 0), _at(md, 2026, 3, 23, 17, 10)
    )
    await _record(
        session, paco, day, madrid, _at(md, 2026, 3, 24, 9, 0), _at(md, 2026, 3, 24, 13, 0)
    )
    await _record(
        session, paco, day, madrid, _at(md, 2026, 3, 25, 9, 10), _at(md, 2026, 3, 25, 17, 30)
    )
    await _record(
        session, paco, day, madrid, _at(md, 2026, 3, 26, 10, 0), _at(md, 2026, 3, 26, 14, 0),
        holidays=holiday,
    )  # fmt: skip
    await _record(
        session, paco, day, madrid, _at(md, 2026, 3, 28, 10, 0), _at(md, 2026, 3, 28, 12, 0)
    )
    # Olive, day shift in New York (EDT since 8 March).
    await _record(
        session, olive, day, new_york, _at(ny, 2026, 3, 23, 9, 0), _at(ny, 2026, 3, 23, 17, 0),
        source="offline",
    )  # fmt: skip
    await _record(
        session, olive, day, new_york, _at(ny, 2026, 3, 25, 9, 3), _at(ny, 2026, 3, 25, 17, 0)
    )
    await _record(session, olive, day, new_york, _at(ny, 2026, 3, 26, 9, 0), None)
    await _record(
        session, olive, day, new_york, _at(ny, 2026, 3, 27, 8, 55), _at(ny, 2026, 3, 27, 17, 5)
    )
    kiosk = Kiosk(
        name="Acme NY door", location_id=new_york.id, token_hash=hash_token(new_token()),
        paired_at=NOW,
    )  # fmt: skip
    session.add(kiosk)
    await session.flush()
    session.add(
        ScanEvent(
            kiosk_id=kiosk.id, client_scan_id="held-1", payload_hash="0" * 64, code_data="TW1:x",
            user_id=olive.id, result="held", captured_at=_at(ny, 2026, 3, 24, 9, 2),
            response={"action": "held"}, review_status="pending",
        )
    )  # fmt: skip
    await session.flush()
    # Friday: Paco forgot to scan; HR enters the day (a correction).
    response = await client.post(
        "/api/v1/attendance/corrections",
        headers=org.headers(org.hr),
        json={
            "user_id": str(paco.id),
            "check_in_at": _at(md, 2026, 3, 27, 9, 0).isoformat(),
            "check_out_at": _at(md, 2026, 3, 27, 17, 0).isoformat(),
            "reason": "Forgot his badge",
        },
    )
    assert response.status_code == 201, response.text
    return Acme(nora, paco, olive, madrid, new_york, operations.id, sales.id)
