"""Attendance status rules: pure functions, no I/O, no clock.

All instants are timezone-aware UTC `datetime`s; shift times are local wall-clock times in the
location's IANA timezone. Elapsed time is always computed between UTC instants (subtracting two
datetimes that share a ZoneInfo gives wall-clock, not elapsed, time), so DST nights come out
as the hours really worked (a 22:00-06:00 shift is 7 h or 9 h on the change nights).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

# How long before a shift's start a check-in is still taken to be for that shift (beyond the
# early threshold): a night worker arriving at 19:00 for 22:00 belongs to that night.
LEAD = timedelta(hours=3)


class Status(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    NON_WORKING_DAY = "non_working_day"
    HOLIDAY = "holiday"
    UNSCHEDULED = "unscheduled"


SCHEDULED = frozenset({Status.EARLY, Status.ON_TIME, Status.LATE})


@dataclass(frozen=True, slots=True)
class ShiftRule:
    start_time: time
    end_time: time  # <= start_time: the shift crosses midnight
    grace_minutes: int = 5
    early_threshold_minutes: int = 30
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays

    @property
    def overnight(self) -> bool:
        return self.end_time <= self.start_time


@dataclass(frozen=True, slots=True)
class CheckIn:
    work_date: date
    status: Status
    minutes_late: int


@dataclass(frozen=True, slots=True)
class CheckOut:
    worked_minutes: int
    overtime_minutes: int
    early_leave_minutes: int


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    # fold=0: an ambiguous wall time (autumn) is its first occurrence; a missing one (spring)
    # maps forward, as a clock on the wall would read it.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


# Every check-in looks at three days' windows of its holder's shift (a handful of shifts, the
# same few days all morning): remembered, as the function is pure.
@lru_cache(maxsize=1024)
def scheduled_window(shift: ShiftRule, work_date: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The shift's start and end on `work_date` as UTC instants."""
    start = _local(work_date, shift.start_time, tz)
    end_day = work_date + timedelta(days=1) if shift.overnight else work_date
    return start, _local(end_day, shift.end_time, tz)


def shift_minutes(shift: ShiftRule, work_date: date, tz: ZoneInfo) -> int:
    start, end = scheduled_window(shift, work_date, tz)
    return _minutes(end - start)


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def local_date(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def work_date_for(at: datetime, shift: ShiftRule | None, tz: ZoneInfo) -> date:
    """The day a check-in at `at` belongs to: a night shift belongs to the day it starts.

    Among yesterday, today and tomorrow (local), the shift whose window
    [start - early threshold - LEAD, end) contains `at` wins, nearest start first; otherwise
    the local calendar day.
    """
    today = local_date(at, tz)
    if shift is None:
        return today
    lead = LEAD + timedelta(minutes=shift.early_threshold_minutes)
    best: tuple[timedelta, date] | None = None
    for offset in (-1, 0, 1):
        day = today + timedelta(days=offset)
        start, end = scheduled_window(shift, day, tz)
        if start - lead <= at < end:
            distance = abs(at - start)
            if best is None or distance < best[0]:
                best = (distance, day)
    return best[1] if best else today


def classify_check_in(
    at: datetime, shift: ShiftRule | None, tz: ZoneInfo, holidays: frozenset[date] = frozenset()
) -> CheckIn:
    """Status of a check-in: early (before start - early threshold), on time (up to start +
    grace), late (with minutes late counted from the start), or a day without a schedule."""
    work_date = work_date_for(at, shift, tz)
    if shift is None:
        return CheckIn(work_date, Status.UNSCHEDULED, 0)
    if work_date in holidays:
        return CheckIn(work_date, Status.HOLIDAY, 0)
    if work_date.isoweekday() not in shift.working_days:
        return CheckIn(work_date, Status.NON_WORKING_DAY, 0)
    start, _ = scheduled_window(shift, work_date, tz)
    if at < start - timedelta(minutes=shift.early_threshold_minutes):
        return CheckIn(work_date, Status.EARLY, 0)
    if at <= start + timedelta(minutes=shift.grace_minutes):
        return CheckIn(work_date, Status.ON_TIME, 0)
    return CheckIn(work_date, Status.LATE, max(1, _minutes(at - start)))


# Without a shift there is no scheduled end: an open record is taken to end this long after
# its check-in when deciding that it was never closed.
UNSCHEDULED_DAY = timedelta(hours=12)


def expected_end(
    check_in_at: datetime, shift: ShiftRule | None, work_date: date, tz: ZoneInfo
) -> datetime:
    """When an open record should have been closed: its shift's end on its work date (at least
    an hour after check-in), or check-in + 12 h without a shift."""
    if shift is None:
        return check_in_at + UNSCHEDULED_DAY
    _, end = scheduled_window(shift, work_date, tz)
    return max(end, check_in_at + timedelta(hours=1))


def classify_check_out(
    check_in_at: datetime,
    check_out_at: datetime,
    status: Status,
    shift: ShiftRule | None,
    work_date: date,
    tz: ZoneInfo,
) -> CheckOut:
    """Worked minutes (true elapsed time), overtime beyond the shift's length and early leave.

    On a holiday, a non-working day or without a shift every minute worked is overtime.
    """
    worked = max(0, _minutes(check_out_at - check_in_at))
    if shift is None or status not in SCHEDULED:
        return CheckOut(worked, worked, 0)
    start, end = scheduled_window(shift, work_date, tz)
    overtime = max(0, worked - _minutes(end - start))
    early_leave = max(0, _minutes(end - check_out_at)) if check_out_at < end else 0
    return CheckOut(worked, overtime, early_leave)
