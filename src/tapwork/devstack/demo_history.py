"""A month of attendance history for the demo organisation, so the dashboard, records, review,
mails and reports show something on first start.

Deterministic (a seeded random generator) and realistic: most people arrive on time, some late,
a few are absent, some stay late (overtime), the night shift crosses midnight, HR corrected one
record (with its audit entry), one offline scan waits for review, and whoever's shift is under
way now is checked in. Statuses and minutes come from the same rules as real scans
(`attendance.rules`). Written once: a database that already has records for the demo people is
left alone.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.progress import Progress
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance import rules
from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.audit import service as audit
from tapwork.holiday.models import Holiday
from tapwork.kiosk.models import Kiosk
from tapwork.kit.actor import Actor
from tapwork.location.models import Location
from tapwork.shift.models import Shift
from tapwork.user.models import User

DAYS = 30
SEED = 15  # the same month every time


@dataclass
class History:
    records: int = 0
    late: int = 0
    absent: int = 0
    overtime: int = 0
    open_now: int = 0
    corrected: int = 0
    held: int = 0


def _rule(shift: Shift) -> rules.ShiftRule:
    return rules.ShiftRule(
        shift.start_time,
        shift.end_time,
        shift.grace_minutes,
        shift.early_threshold_minutes,
        frozenset(shift.working_days),
    )


async def fill_history(
    session: AsyncSession,
    people: list[User],
    *,
    hr: User,
    now: datetime,
    progress: Progress,
) -> History | None:
    """The last `DAYS` days for `people`; None when they already have records."""
    ids = [p.id for p in people]
    existing = await session.scalar(
        select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.user_id.in_(ids))
    )
    if existing:
        return None
    shifts = {s.id: s for s in await session.scalars(select(Shift))}
    locations = {loc.id: loc for loc in await session.scalars(select(Location))}
    kiosks = {k.location_id: k for k in await session.scalars(select(Kiosk))}
    holidays: dict[uuid.UUID | None, set[date]] = {}
    for day, place in (
        await session.execute(select(Holiday.holiday_date, Holiday.location_id))
    ).all():
        holidays.setdefault(place, set()).add(day)

    rng = random.Random(SEED)
    history = History()
    task = progress.add_task("A month of attendance", total=len(people))
    first_late: AttendanceRecord | None = None
    for person in people:
        shift = shifts.get(person.shift_id) if person.shift_id else None
        location = locations.get(person.location_id) if person.location_id else None
        progress.advance(task)
        if shift is None or location is None:
            continue
        tz = ZoneInfo(location.timezone)
        rule = _rule(shift)
        days_off = frozenset(holidays.get(None, set()) | holidays.get(location.id, set()))
        kiosk = kiosks.get(location.id)
        today = now.astimezone(tz).date()
        for back in range(DAYS, -1, -1):
            day = today - timedelta(days=back)
            if day.isoweekday() not in rule.working_days or day in days_off:
                continue
            start, end = rules.scheduled_window(rule, day, tz)
            if start > now:
                continue
            roll = rng.random()
            if back and roll < 0.05:
                history.absent += 1
                continue
            late = roll > 0.82
            arrive = start + timedelta(
                minutes=rng.randint(7, 45) if late else rng.randint(-14, 4),
                seconds=rng.randint(0, 59),
            )
            if arrive > now:
                continue
            check_in = rules.classify_check_in(arrive, rule, tz, days_off)
            stays = rng.random()
            leave = end + timedelta(
                minutes=rng.randint(35, 110) if stays > 0.85 else rng.randint(-2, 14),
                seconds=rng.randint(0, 59),
            )
            record = AttendanceRecord(
                id=uuid.uuid4(),
                user_id=person.id,
                shift_id=shift.id,
                location_id=location.id,
                kiosk_id=kiosk.id if kiosk else None,
                work_date=check_in.work_date,
                check_in_at=arrive,
                status=check_in.status.value,
                minutes_late=check_in.minutes_late,
                source="online",
            )
            if leave <= now:
                out = rules.classify_check_out(
                    arrive, leave, check_in.status, rule, check_in.work_date, tz
                )
                record.check_out_at = leave
                record.worked_minutes = out.worked_minutes
                record.overtime_minutes = out.overtime_minutes
                record.early_leave_minutes = out.early_leave_minutes
                history.overtime += out.overtime_minutes > 30
            else:
                history.open_now += 1
            history.late += check_in.status == rules.Status.LATE
            if first_late is None and check_in.status == rules.Status.LATE and back > 2:
                first_late = record
            session.add(record)
            history.records += 1
    await session.flush()
    if first_late is not None:
        await _correct(session, first_late, hr, now)
        history.corrected = 1
    history.held = await _held_scan(session, people, kiosks, now)
    return history


async def _correct(
    session: AsyncSession, record: AttendanceRecord, hr: User, now: datetime
) -> None:
    """HR forgave a late arrival caused by a broken kiosk: the record and its audit entry."""
    before = {"check_in_at": record.check_in_at.isoformat(), "status": record.status,
              "minutes_late": record.minutes_late}  # fmt: skip
    shift = await session.get(Shift, record.shift_id)
    location = await session.get(Location, record.location_id)
    assert shift is not None
    assert location is not None
    tz = ZoneInfo(location.timezone)
    start, _ = rules.scheduled_window(_rule(shift), record.work_date, tz)
    record.check_in_at = start - timedelta(minutes=3)
    record.status, record.minutes_late = rules.Status.ON_TIME.value, 0
    record.notes = "The lobby kiosk was down; arrived on time (badge log of the front desk)."
    if record.check_out_at is not None:
        record.worked_minutes = int(
            (record.check_out_at - record.check_in_at).total_seconds() // 60
        )
    after = {"check_in_at": record.check_in_at.isoformat(), "status": record.status,
             "minutes_late": 0}  # fmt: skip
    actor = Actor(type="user", id=hr.id, label=hr.email)
    await audit.record(
        session, actor, "attendance.correction_update", "attendance_record", record.id,
        old=before, new={**after, "reason": record.notes},
    )  # fmt: skip


async def _held_scan(
    session: AsyncSession, people: list[User], kiosks: dict[uuid.UUID, Kiosk], now: datetime
) -> int:
    """An offline scan sent four days late: too old to count by itself, it waits for HR."""
    person = next((p for p in people if p.location_id in kiosks), None)
    if person is None or person.location_id is None:
        return 0
    kiosk = kiosks[person.location_id]
    captured = now - timedelta(days=4, hours=2)
    session.add(
        ScanEvent(
            kiosk_id=kiosk.id,
            client_scan_id=f"demo-held-{uuid.uuid4()}",
            payload_hash="demo",
            code_data="DEMO-HELD-SCAN",
            user_id=person.id,
            result="held",
            error_code="OFFLINE_TOO_OLD",
            captured_at=captured,
            received_at=now - timedelta(minutes=20),
            response={"action": "held", "reason": "OFFLINE_TOO_OLD"},
            review_status="pending",
        )
    )
    return 1
