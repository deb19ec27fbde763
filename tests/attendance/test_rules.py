"""The status rules, table-driven and property-based (pure: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tapwork.attendance.rules import (
    ShiftRule,
    Status,
    classify_check_in,
    classify_check_out,
    shift_minutes,
    work_date_for,
)

MADRID = ZoneInfo("Europe/Madrid")
DAY = ShiftRule(time(9), time(17), grace_minutes=5, early_threshold_minutes=30)
NIGHT = ShiftRule(
    time(22),
    time(6),
    grace_minutes=5,
    early_threshold_minutes=30,
    working_days=frozenset({1, 2, 3, 4, 5, 6, 7}),
)


def local(y: int, m: int, d: int, hh: int, mm: int = 0, tz: ZoneInfo = MADRID) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz).astimezone(UTC)


# Monday 2 March 2026 in Madrid (UTC+1).
CHECK_INS = [
    ("early", local(2026, 3, 2, 8, 20), DAY, Status.EARLY, 0, date(2026, 3, 2)),
    ("at threshold is on time", local(2026, 3, 2, 8, 30), DAY, Status.ON_TIME, 0, date(2026, 3, 2)),
    ("on time", local(2026, 3, 2, 9, 0), DAY, Status.ON_TIME, 0, date(2026, 3, 2)),
    ("end of grace", local(2026, 3, 2, 9, 5), DAY, Status.ON_TIME, 0, date(2026, 3, 2)),
    ("late after grace", local(2026, 3, 2, 9, 6), DAY, Status.LATE, 6, date(2026, 3, 2)),
    ("very late", local(2026, 3, 2, 11, 30), DAY, Status.LATE, 150, date(2026, 3, 2)),
    ("saturday", local(2026, 3, 7, 9, 0), DAY, Status.NON_WORKING_DAY, 0, date(2026, 3, 7)),
    ("no shift", local(2026, 3, 2, 9, 30), None, Status.UNSCHEDULED, 0, date(2026, 3, 2)),
    ("night on time", local(2026, 3, 2, 21, 50), NIGHT, Status.ON_TIME, 0, date(2026, 3, 2)),
    (
        "night late after midnight",
        local(2026, 3, 3, 0, 30),
        NIGHT,
        Status.LATE,
        150,
        date(2026, 3, 2),
    ),
    ("night early", local(2026, 3, 2, 20, 0), NIGHT, Status.EARLY, 0, date(2026, 3, 2)),
]
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("at", "shift", "status", "minutes_late", "work_date"),
    [c[1:] for c in CHECK_INS],
    ids=[c[0] for c in CHECK_INS],
)
def test_check_in_table(
    at: datetime, shift: ShiftRule | None, status: Status, minutes_late: int, work_date: date
) -> None:
    result = classify_check_in(at, shift, MADRID)
    assert (result.status, result.minutes_late, result.work_date) == (
        status,
        minutes_late,
        work_date,
    )


def test_status_uses_the_location_timezone() -> None:
    # 09:00 in New York is 15:00 in Madrid: on time there, late here.
    at = local(2026, 3, 2, 9, 0, NEW_YORK)
    assert classify_check_in(at, DAY, NEW_YORK).status is Status.ON_TIME
    assert classify_check_in(at, DAY, MADRID).minutes_late == 360


def test_holiday_beats_working_day() -> None:
    result = classify_check_in(local(2026, 3, 2, 9), DAY, MADRID, frozenset({date(2026, 3, 2)}))
    assert result.status is Status.HOLIDAY
    out = classify_check_out(
        local(2026, 3, 2, 9), local(2026, 3, 2, 13), result.status, DAY, result.work_date, MADRID
    )
    assert (out.worked_minutes, out.overtime_minutes, out.early_leave_minutes) == (240, 240, 0)


CHECK_OUTS = [
    ("full day", local(2026, 3, 2, 9), local(2026, 3, 2, 17), DAY, Status.ON_TIME, 480, 0, 0),
    ("overtime", local(2026, 3, 2, 9), local(2026, 3, 2, 18, 30), DAY, Status.ON_TIME, 570, 90, 0),
    ("early leave", local(2026, 3, 2, 9), local(2026, 3, 2, 15), DAY, Status.ON_TIME, 360, 0, 120),
    ("late but stays", local(2026, 3, 2, 10), local(2026, 3, 2, 18), DAY, Status.LATE, 480, 0, 0),
    (
        "non-working day is all overtime",
        local(2026, 3, 7, 10),
        local(2026, 3, 7, 12),
        DAY,
        Status.NON_WORKING_DAY,
        120,
        120,
        0,
    ),
    (
        "unscheduled is all overtime",
        local(2026, 3, 2, 10),
        local(2026, 3, 2, 11),
        None,
        Status.UNSCHEDULED,
        60,
        60,
        0,
    ),
    (
        "night shift next morning",
        local(2026, 3, 2, 22),
        local(2026, 3, 3, 6, 10),
        NIGHT,
        Status.ON_TIME,
        490,
        10,
        0,
    ),
]


@pytest.mark.parametrize(
    ("check_in", "check_out", "shift", "status", "worked", "overtime", "early_leave"),
    [c[1:] for c in CHECK_OUTS],
    ids=[c[0] for c in CHECK_OUTS],
)
def test_check_out_table(
    check_in: datetime,
    check_out: datetime,
    shift: ShiftRule | None,
    status: Status,
    worked: int,
    overtime: int,
    early_leave: int,
) -> None:
    work_date = classify_check_in(check_in, shift, MADRID).work_date
    result = classify_check_out(check_in, check_out, status, shift, work_date, MADRID)
    assert (result.worked_minutes, result.overtime_minutes, result.early_leave_minutes) == (
        worked,
        overtime,
        early_leave,
    )


def test_night_shift_is_one_record_of_the_day_it_starts() -> None:
    # 22:00-06:00 checked out at 06:10 the next morning: the check-in decides the work date.
    assert work_date_for(local(2026, 3, 2, 22), NIGHT, MADRID) == date(2026, 3, 2)
    assert work_date_for(local(2026, 3, 3, 5, 59), NIGHT, MADRID) == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("night_of", "hours"),
    [(date(2026, 3, 28), 7), (date(2026, 10, 24), 9), (date(2026, 3, 2), 8)],
    ids=["spring forward", "fall back", "ordinary night"],
)
def test_dst_nights_count_true_elapsed_time(night_of: date, hours: int) -> None:
    check_in = local(night_of.year, night_of.month, night_of.day, 22)
    nxt = night_of + timedelta(days=1)
    check_out = local(nxt.year, nxt.month, nxt.day, 6)
    assert shift_minutes(NIGHT, night_of, MADRID) == hours * 60
    result = classify_check_out(check_in, check_out, Status.ON_TIME, NIGHT, night_of, MADRID)
    assert (result.worked_minutes, result.overtime_minutes, result.early_leave_minutes) == (
        hours * 60,
        0,
        0,
    )


_instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
_zones = st.sampled_from(
    [
        MADRID,
        ZoneInfo("UTC"),
        ZoneInfo("America/New_York"),
        ZoneInfo("Asia/Kolkata"),
        ZoneInfo("Australia/Lord_Howe"),
    ]
)


@st.composite
def _shifts(draw: st.DrawFn) -> ShiftRule:
    start, end = draw(_times), draw(_times)
    if start == end:
        end = (datetime.combine(date(2026, 1, 1), start) + timedelta(hours=8)).time()
    return ShiftRule(
        start,
        end,
        grace_minutes=draw(st.integers(0, 240)),
        early_threshold_minutes=draw(st.integers(0, 720)),
        working_days=frozenset(draw(st.sets(st.integers(1, 7), min_size=1))),
    )


@given(_instants, _shifts(), _zones)
def test_check_in_properties(at: datetime, shift: ShiftRule, tz: ZoneInfo) -> None:
    result = classify_check_in(at, shift, tz)
    # Belongs to yesterday, today or tomorrow in local time; late exactly when minutes late.
    assert abs((result.work_date - at.astimezone(tz).date()).days) <= 1
    assert (result.status is Status.LATE) == (result.minutes_late > 0)
    if result.status is Status.NON_WORKING_DAY:
        assert result.work_date.isoweekday() not in shift.working_days


@given(_instants, st.integers(0, 36 * 60), st.one_of(st.none(), _shifts()), _zones)
def test_check_out_properties(
    at: datetime, minutes: int, shift: ShiftRule | None, tz: ZoneInfo
) -> None:
    check_out = at + timedelta(minutes=minutes, seconds=30)
    check_in = classify_check_in(at, shift, tz)
    result = classify_check_out(at, check_out, check_in.status, shift, check_in.work_date, tz)
    # Worked time is elapsed time whatever the zone does; overtime never exceeds it.
    assert result.worked_minutes == minutes
    assert 0 <= result.overtime_minutes <= result.worked_minutes
    assert result.early_leave_minutes >= 0
    if shift is not None and check_in.status in (Status.EARLY, Status.ON_TIME, Status.LATE):
        length = shift_minutes(shift, check_in.work_date, tz)
        assert result.overtime_minutes == max(0, minutes - length)
