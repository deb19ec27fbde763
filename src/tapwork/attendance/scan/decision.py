"""The scan's decision, pure: given the READ row and the instant, check-in, check-out, or the
rule that refuses it (an AppError) or holds it for HR review (`Held`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tapwork.attendance import rules
from tapwork.attendance.errors import DuplicateScan, RestPeriod, UserInactive
from tapwork.badge import service as badge_service
from tapwork.config import Settings

HELD_TOO_OLD = "OFFLINE_TOO_OLD"
HELD_IN_FUTURE = "OFFLINE_IN_FUTURE"
HELD_OUT_OF_ORDER = "OFFLINE_OUT_OF_ORDER"
# The open record is long past its shift end (a forgotten check-out): closing it with this scan
# would book the whole night as work, so the scan waits for HR to correct the old record.
HELD_STALE_OPEN = "STALE_OPEN_RECORD"


@dataclass(frozen=True, slots=True)
class Plan:
    """What a valid scan does: open a record or close the open one."""

    action: str  # check_in | check_out
    at: datetime
    source: str
    record_id: uuid.UUID
    work_date: date
    status: str
    minutes_late: int
    check_out: rules.CheckOut | None = None


class Held(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def shift_of(row: dict[str, Any], prefix: str = "") -> rules.ShiftRule | None:
    if row[f"{prefix}start_time"] is None:
        return None
    return rules.ShiftRule(
        start_time=row[f"{prefix}start_time"],
        end_time=row[f"{prefix}end_time"],
        grace_minutes=row[f"{prefix}grace_minutes"],
        early_threshold_minutes=row[f"{prefix}early_threshold_minutes"],
        working_days=frozenset(row[f"{prefix}working_days"] or ()),
    )


def check_holder(row: dict[str, Any], code_data: str, now: datetime) -> None:
    """Badge rejections (the badge domain's rules), then the holder's, in the order the kiosk
    should report them."""
    badge_service.check_scanned(
        code_data,
        {
            "id": row["badge_id"],
            "code_data": row["badge_code"],
            "revoked_at": row["badge_revoked_at"],
            "superseded": row["badge_superseded"],
            "expires_at": row["badge_expires_at"],
        },
        now=now,
    )
    if not row["is_active"] or row["email_verified_at"] is None:
        raise UserInactive("This employee may not scan: the account is inactive or unverified")


def scan_time(captured_at: datetime | None, now: datetime, settings: Settings) -> datetime:
    """The instant a scan counts at; out-of-range offline captures are held for review."""
    if captured_at is None:
        return now
    if captured_at < now - timedelta(hours=settings.offline_max_age_hours):
        raise Held(HELD_TOO_OLD)
    if captured_at > now + timedelta(seconds=settings.offline_future_skew_seconds):
        raise Held(HELD_IN_FUTURE)
    return captured_at


def decide(row: dict[str, Any], at: datetime, source: str, settings: Settings) -> Plan:
    """Check-in or check-out for a validated holder at `at`, or the rule that refuses it."""
    tz = ZoneInfo(row["timezone"])
    debounce = timedelta(seconds=settings.scan_debounce_seconds)
    offline = source == "offline"
    check_in_at, check_out_at = row["record_check_in_at"], row["record_check_out_at"]
    if row["record_id"] is not None and check_out_at is None:
        if abs(at - check_in_at) < debounce:
            raise DuplicateScan("Already checked in a moment ago", last_scan_at=check_in_at)
        if at < check_in_at:
            raise Held(HELD_OUT_OF_ORDER)
        shift = shift_of(row, "record_")
        end = rules.expected_end(check_in_at, shift, row["record_work_date"], tz)
        if at > end + timedelta(hours=settings.missing_clockout_hours):
            raise Held(HELD_STALE_OPEN)
        out = rules.classify_check_out(
            check_in_at, at, rules.Status(row["record_status"]), shift, row["record_work_date"], tz
        )
        return Plan(
            "check_out", at, source, row["record_id"], row["record_work_date"],
            row["record_status"], 0, out,
        )  # fmt: skip
    if check_out_at is not None:
        if abs(at - check_out_at) < debounce:
            raise DuplicateScan("Already checked out a moment ago", last_scan_at=check_out_at)
        if offline and at < check_out_at:
            raise Held(HELD_OUT_OF_ORDER)
        available = check_out_at + timedelta(minutes=settings.min_rest_minutes)
        if at < available:
            raise RestPeriod(
                "Too soon after the last check-out", available_at=available.isoformat()
            )
    result = rules.classify_check_in(at, shift_of(row), tz, frozenset(row["holidays"] or ()))
    return Plan(
        "check_in", at, source, uuid.uuid4(), result.work_date, result.status.value,
        result.minutes_late,
    )  # fmt: skip
