"""Acme's figures, computed by hand (the reasoning is in conftest.py and docs/reports.md)."""

from __future__ import annotations

from typing import Any

ATTENDANCE: dict[str, dict[str, Any]] = {
    # Nora: Mon 487 (7 over), Tue 460 (20 late), Wed absent, Thu holiday, Fri 360 (left 2 h
    # early), Sat the DST night 420 = the shift's 7 real hours, no overtime.
    "N001": {
        "scheduled_days": 5,
        "days_present": 4,
        "late_count": 1,
        "minutes_late": 20,
        "early_leaves": 1,
        "absences": 1,
        "holidays": 1,
        "worked_minutes": 1727,
        "regular_minutes": 1720,
        "overtime_minutes": 7,
        "worked_hours": 28.78,
        "regular_hours": 28.67,
        "overtime_hours": 0.12,
        "attendance_rate": 80.0,
        "open_days": 0,
        "offline_records": 0,
        "corrected_records": 0,
        "held_scans": 0,
    },
    # Paco: Mon 190 + 250 (under 480: none over), Tue 240 (left early), Wed 500 (10 late, 20
    # over), Thu holiday 240 (all over), Fri 480 (HR's correction), Sat 120 (all over).
    "P001": {
        "scheduled_days": 4,
        "days_present": 6,
        "late_count": 1,
        "minutes_late": 10,
        "early_leaves": 1,
        "absences": 0,
        "holidays": 1,
        "worked_minutes": 2020,
        "regular_minutes": 1640,
        "overtime_minutes": 380,
        "worked_hours": 33.67,
        "regular_hours": 27.33,
        "overtime_hours": 6.33,
        "attendance_rate": 100.0,
        "open_days": 0,
        "offline_records": 0,
        "corrected_records": 1,
        "held_scans": 0,
    },
    # Olive: Mon 480 (offline), Tue only a held scan (absent), Wed 477, Thu open, Fri 490.
    "O001": {
        "scheduled_days": 5,
        "days_present": 4,
        "late_count": 0,
        "minutes_late": 0,
        "early_leaves": 0,
        "absences": 1,
        "holidays": 0,
        "worked_minutes": 1447,
        "regular_minutes": 1437,
        "overtime_minutes": 10,
        "worked_hours": 24.12,
        "regular_hours": 23.95,
        "overtime_hours": 0.17,
        "attendance_rate": 80.0,
        "open_days": 1,
        "offline_records": 1,
        "corrected_records": 0,
        "held_scans": 1,
    },
}

# (date, department) -> employees, scheduled, present, late, absent, rate
DEPARTMENTS: dict[tuple[str, str], tuple[int, int, int, int, int, float | None]] = {
    ("2026-03-23", "Operations"): (2, 2, 2, 0, 0, 100.0),
    ("2026-03-24", "Operations"): (2, 2, 2, 1, 0, 100.0),
    ("2026-03-25", "Operations"): (2, 2, 1, 1, 1, 50.0),
    ("2026-03-26", "Operations"): (2, 0, 1, 0, 0, None),
    ("2026-03-27", "Operations"): (2, 2, 2, 0, 0, 100.0),
    ("2026-03-28", "Operations"): (2, 1, 2, 0, 0, 100.0),
    ("2026-03-29", "Operations"): (2, 0, 0, 0, 0, None),
    ("2026-03-23", "Sales NY"): (1, 1, 1, 0, 0, 100.0),
    ("2026-03-24", "Sales NY"): (1, 1, 0, 0, 1, 0.0),
    ("2026-03-25", "Sales NY"): (1, 1, 1, 0, 0, 100.0),
    ("2026-03-26", "Sales NY"): (1, 1, 1, 0, 0, 100.0),
    ("2026-03-27", "Sales NY"): (1, 1, 1, 0, 0, 100.0),
    ("2026-03-28", "Sales NY"): (1, 0, 0, 0, 0, None),
    ("2026-03-29", "Sales NY"): (1, 0, 0, 0, 0, None),
}

# Monday 23 to Sunday 29, then the totals P L E O A H N.
SHEET: dict[str, tuple[str, tuple[int, ...]]] = {
    "N001": ("PLAHEPN", (2, 1, 1, 0, 1, 1, 1)),
    "P001": ("PELPPPN", (4, 1, 1, 0, 0, 0, 1)),
    "O001": ("PAPOPNN", (3, 0, 0, 1, 1, 0, 2)),
}

# (employee, date) -> pairs, status, minutes late, worked, regular, overtime, flags
TIMESHEET: dict[tuple[str, str], tuple[str, str, int, int, int, int, str]] = {
    ("N001", "2026-03-23"): ("21:55-06:02", "on_time", 0, 487, 480, 7, ""),
    ("N001", "2026-03-24"): ("22:20-06:00", "late", 20, 460, 460, 0, ""),
    ("N001", "2026-03-27"): ("22:00-04:00", "on_time", 0, 360, 360, 0, ""),
    ("N001", "2026-03-28"): ("22:00-06:00", "on_time", 0, 420, 420, 0, ""),
    ("O001", "2026-03-23"): ("09:00-17:00", "on_time", 0, 480, 480, 0, "offline"),
    ("O001", "2026-03-24"): ("", "", 0, 0, 0, 0, "held"),
    ("O001", "2026-03-25"): ("09:03-17:00", "on_time", 0, 477, 477, 0, ""),
    ("O001", "2026-03-26"): ("09:00-", "on_time", 0, 0, 0, 0, "open"),
    ("O001", "2026-03-27"): ("08:55-17:05", "on_time", 0, 490, 480, 10, ""),
    ("P001", "2026-03-23"): ("08:50-12:00 13:00-17:10", "on_time", 0, 440, 440, 0, ""),
    ("P001", "2026-03-24"): ("09:00-13:00", "on_time", 0, 240, 240, 0, ""),
    ("P001", "2026-03-25"): ("09:10-17:30", "late", 10, 500, 480, 20, ""),
    ("P001", "2026-03-26"): ("10:00-14:00", "holiday", 0, 240, 0, 240, ""),
    ("P001", "2026-03-27"): ("09:00-17:00", "on_time", 0, 480, 480, 0, "corrected"),
    ("P001", "2026-03-28"): ("10:00-12:00", "non_working_day", 0, 120, 0, 120, ""),
}

# Gusto: last, first, id, regular hours, overtime hours.
GUSTO = [
    ("Night", "Nora", "N001", "28.67", "0.12"),
    ("Offline", "Olive", "O001", "23.95", "0.17"),
    ("Partial", "Paco", "P001", "27.33", "6.33"),
]
