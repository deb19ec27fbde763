"""Attendance records: reading (with department scoping) and HR corrections.

Visibility: `attendance:read_all` sees everyone; `attendance:read_department` sees the users of
the departments the caller manages; `attendance:read_own` only the caller. Asking for a
department you do not manage is a 403 (DEPARTMENT_FORBIDDEN); filtering by a user outside your
departments simply matches nothing; a single record you may not see is a 404.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance import rules
from tapwork.attendance.errors import (
    DepartmentForbidden,
    InvalidTimes,
    OpenRecordExists,
    RecordNotFound,
)
from tapwork.attendance.models import AttendanceRecord
from tapwork.attendance.schemas import CorrectionCreate, RecordUpdate
from tapwork.audit import service as audit
from tapwork.audit.models import AuditLog
from tapwork.auth.deps import Principal
from tapwork.department.models import Department
from tapwork.errors import NotFound
from tapwork.holiday import service as holiday_service
from tapwork.kit.actor import Actor
from tapwork.location.models import Location
from tapwork.notification import service as notification
from tapwork.notification.kinds import Kind
from tapwork.permissions import P
from tapwork.shift.models import Shift
from tapwork.user.models import User

AUDIT_FIELDS = (
    "user_id", "work_date", "check_in_at", "check_out_at", "status", "minutes_late",
    "worked_minutes", "overtime_minutes", "early_leave_minutes", "source", "notes", "location_id",
)  # fmt: skip
FUTURE_SKEW = timedelta(minutes=5)


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"


async def managed_departments(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        await session.scalars(select(Department.id).where(Department.manager_id == user_id))
    )


async def scope(session: AsyncSession, principal: Principal) -> list[uuid.UUID] | None:
    """Department ids the caller may read, or None for everyone."""
    if principal.can(P.ATTENDANCE_READ_ALL):
        return None
    if principal.can(P.ATTENDANCE_READ_DEPARTMENT):
        return await managed_departments(session, principal.user.id)
    return []


_JOIN_USER = User.id == AttendanceRecord.user_id


async def list_records(
    session: AsyncSession,
    principal: Principal,
    *,
    user_id: uuid.UUID | None,
    start_date: date | None,
    end_date: date | None,
    status: str | None,
    department_id: uuid.UUID | None,
) -> Select[AttendanceRecord, User]:
    allowed = await scope(session, principal)
    if department_id is not None and allowed is not None and department_id not in allowed:
        raise DepartmentForbidden("You can only read the departments you manage")
    query = select(AttendanceRecord, User).join(User, _JOIN_USER)
    if allowed is not None:
        query = query.where(User.department_id.in_(allowed))
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    if user_id is not None:
        query = query.where(AttendanceRecord.user_id == user_id)
    if start_date is not None:
        query = query.where(AttendanceRecord.work_date >= start_date)
    if end_date is not None:
        query = query.where(AttendanceRecord.work_date <= end_date)
    if status is not None:
        query = query.where(AttendanceRecord.status == status)
    return query.order_by(AttendanceRecord.check_in_at.desc(), AttendanceRecord.id)


CORRECTION_ACTIONS = ("attendance.correction_create", "attendance.correction_update")


async def record_context(
    session: AsyncSession, records: list[AttendanceRecord]
) -> tuple[dict[uuid.UUID, Location], set[uuid.UUID]]:
    """The locations of these records (for their names and time zones) and which of them
    were corrected by hand: two queries for a whole page, not two per record."""
    location_ids = {r.location_id for r in records if r.location_id}
    locations = (
        {loc.id: loc for loc in await session.scalars(
            select(Location).where(Location.id.in_(location_ids))
        )}
        if location_ids
        else {}
    )  # fmt: skip
    ids = [str(r.id) for r in records if r.source != "manual"]
    corrected = {r.id for r in records if r.source == "manual"}
    if ids:
        rows = await session.scalars(
            select(AuditLog.resource_id).where(
                AuditLog.resource_type == "attendance_record",
                AuditLog.resource_id.in_(ids),
                AuditLog.action.in_(CORRECTION_ACTIONS),
            )
        )
        corrected |= {uuid.UUID(r) for r in rows if r}
    return locations, corrected


async def my_records(
    session: AsyncSession, user_id: uuid.UUID, start_date: date, end_date: date
) -> list[AttendanceRecord]:
    return list(
        await session.scalars(
            select(AttendanceRecord)
            .where(
                AttendanceRecord.user_id == user_id,
                AttendanceRecord.work_date >= start_date,
                AttendanceRecord.work_date <= end_date,
            )
            .order_by(AttendanceRecord.check_in_at.desc())
        )
    )


# The attendance report's figures that My history's totals show (issue 13: one set of rules).
REPORT_FIGURES = (
    "days_present", "late_count", "minutes_late", "worked_minutes", "overtime_minutes",
    "scheduled_days", "absences", "early_leaves", "regular_minutes", "attendance_rate",
    "open_days", "held_scans",
)  # fmt: skip


def my_totals(records: list[AttendanceRecord], report_row: dict[str, Any] | None) -> dict[str, Any]:
    """My history's totals: the figures from the user's row of the attendance report (its SQL
    decides what a present day, a late arrival or overtime is: held scans never count, a night
    shift belongs to the day it starts); `records`, `open_records` and `early_leave_minutes`
    count the records listed beside them."""
    row = report_row or {}
    figures: dict[str, Any] = {name: row.get(name, 0) for name in REPORT_FIGURES}
    figures["attendance_rate"] = row.get("attendance_rate")
    return {
        **figures,
        "records": len(records),
        "open_records": sum(r.check_out_at is None for r in records),
        "early_leave_minutes": sum(r.early_leave_minutes or 0 for r in records),
    }


async def get_visible(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID
) -> tuple[AttendanceRecord, User]:
    row = (
        await session.execute(
            select(AttendanceRecord, User)
            .join(User, _JOIN_USER)
            .where(AttendanceRecord.id == record_id)
        )
    ).first()
    if row is None:
        raise RecordNotFound("No such attendance record")
    record, user = row[0], row[1]
    if principal.can(P.ATTENDANCE_READ_ALL) or record.user_id == principal.user.id:
        return record, user
    if principal.can(
        P.ATTENDANCE_READ_DEPARTMENT
    ) and user.department_id in await managed_departments(session, principal.user.id):
        return record, user
    raise RecordNotFound("No such attendance record")


async def live(
    session: AsyncSession, principal: Principal
) -> list[tuple[AttendanceRecord, User, Location | None]]:
    """Open records (who is in now), with the location they checked in at."""
    allowed = await scope(session, principal)
    query = (
        select(AttendanceRecord, User, Location)
        .join(User, _JOIN_USER)
        .outerjoin(Location, Location.id == AttendanceRecord.location_id)
        .where(AttendanceRecord.check_out_at.is_(None))
        .order_by(Location.name, AttendanceRecord.check_in_at)
    )
    if allowed is not None:
        query = query.where(User.department_id.in_(allowed))
    return [(r, u, loc) for r, u, loc in (await session.execute(query)).all()]


# -- corrections ---------------------------------------------------------------------------


async def _context(
    session: AsyncSession,
    location_id: uuid.UUID | None,
    shift_id: uuid.UUID | None,
    check_in_at: datetime,
) -> tuple[rules.ShiftRule | None, ZoneInfo, frozenset[date]]:
    shift = await session.get(Shift, shift_id) if shift_id else None
    location = await session.get(Location, location_id) if location_id else None
    tz = ZoneInfo(location.timezone) if location else ZoneInfo("UTC")
    holidays = await holiday_service.around(session, check_in_at, tz, location_id)
    rule = (
        rules.ShiftRule(
            shift.start_time,
            shift.end_time,
            shift.grace_minutes,
            shift.early_threshold_minutes,
            frozenset(shift.working_days),
        )
        if shift
        else None
    )
    return rule, tz, holidays


async def _recompute(session: AsyncSession, record: AttendanceRecord, now: datetime) -> None:
    """Status, minutes late and check-out figures from the record's times (same rules as a scan)."""
    if record.check_in_at > now + FUTURE_SKEW:
        raise InvalidTimes("cannot be in the future", field="body.check_in_at", type="in_future")
    if record.check_out_at is not None and record.check_out_at > now + FUTURE_SKEW:
        raise InvalidTimes("cannot be in the future", field="body.check_out_at", type="in_future")
    if record.check_out_at is not None and record.check_out_at < record.check_in_at:
        raise InvalidTimes(
            "must not be before check_in_at", field="body.check_out_at", type="before_check_in"
        )
    shift, tz, holidays = await _context(
        session, record.location_id, record.shift_id, record.check_in_at
    )
    result = rules.classify_check_in(record.check_in_at, shift, tz, holidays)
    record.work_date, record.status = result.work_date, result.status.value
    record.minutes_late = result.minutes_late
    if record.check_out_at is None:
        record.worked_minutes = record.overtime_minutes = record.early_leave_minutes = None
        return
    out = rules.classify_check_out(
        record.check_in_at, record.check_out_at, result.status, shift, result.work_date, tz
    )
    record.worked_minutes, record.overtime_minutes = out.worked_minutes, out.overtime_minutes
    record.early_leave_minutes = out.early_leave_minutes
    record.missing_checkout_flagged_at = None


async def _save(session: AsyncSession, record: AttendanceRecord) -> None:
    # The partial unique index decides "one open record per user", even under a race.
    try:
        async with session.begin_nested():
            session.add(record)
            await session.flush()
    except IntegrityError as exc:
        if "uq_attendance_records_one_open" in str(exc.orig):
            raise OpenRecordExists(
                "This user already has an open record; close it first", user_id=str(record.user_id)
            ) from exc
        raise InvalidTimes("The record's times are inconsistent") from exc


# What the correction mail shows, in this order, in words (the audit log keeps the raw values).
_MAIL_FIELDS = {
    "check_in_at": "Check-in",
    "check_out_at": "Check-out",
    "status": "Status",
    "minutes_late": "Late by",
    "worked_minutes": "Worked",
    "overtime_minutes": "Overtime",
    "early_leave_minutes": "Left early by",
    "notes": "Notes",
}


def _mail_value(name: str, value: Any, tz: ZoneInfo) -> str | None:
    if value is None or value == "":
        return None
    if name.endswith("_at"):
        local = datetime.fromisoformat(str(value)).astimezone(tz)
        return f"{local.day} {local.strftime('%b %Y, %H:%M')}"
    if name.endswith("_minutes") or name == "minutes_late":
        hours, rest = divmod(int(value), 60)
        return f"{hours} h {rest:02d} min" if hours else f"{rest} min"
    if name == "status":
        return str(value).replace("_", " ").capitalize()
    return str(value)


async def _notify(
    session: AsyncSession, user: User, record: AttendanceRecord, reason: str, actor: Actor,
    changes: dict[str, list[Any]],
) -> None:  # fmt: skip
    # Times in the record's location zone, where the employee was: a Madrid employee reads
    # 09:00, not 08:00 UTC. Who corrected it by name, not by sign-in email.
    location = await session.get(Location, record.location_id) if record.location_id else None
    tz = ZoneInfo(location.timezone) if location else ZoneInfo("UTC")
    by = await session.get(User, actor.id) if actor.id and actor.type == "user" else None
    rows = [
        {
            "field": label,
            "before": _mail_value(name, changes[name][0], tz),
            "after": _mail_value(name, changes[name][1], tz),
        }
        for name, label in _MAIL_FIELDS.items()
        if name in changes
    ]
    await notification.enqueue(
        session,
        Kind.CORRECTION_NOTICE,
        to=user,
        context={
            "work_date": record.work_date.isoformat(),
            "reason": reason,
            "corrected_by": by.full_name if by else actor.label,
            "rows": rows,
            "timezone": tz.key,
            "location": location.name if location else None,
        },
    )


async def create_correction(
    session: AsyncSession, data: CorrectionCreate, *, actor: Actor, now: datetime
) -> AttendanceRecord:
    user = await session.get(User, data.user_id)
    if user is None:
        raise UserNotFound("No such user")
    record = AttendanceRecord(
        id=uuid.uuid4(),
        user_id=user.id,
        shift_id=user.shift_id,
        location_id=data.location_id or user.location_id,
        check_in_at=data.check_in_at,
        check_out_at=data.check_out_at,
        source="manual",
        notes=data.notes or data.reason,
    )
    if record.location_id and await session.get(Location, record.location_id) is None:
        raise NotFound("No such location")
    await _recompute(session, record, now)
    await _save(session, record)
    new = audit.snapshot(record, AUDIT_FIELDS)
    await audit.record(
        session, actor, "attendance.correction_create", "attendance_record", record.id,
        new={**new, "reason": data.reason},
    )  # fmt: skip
    changes = {k: [None, v] for k, v in new.items() if v is not None and k != "user_id"}
    await _notify(session, user, record, data.reason, actor, changes)
    return record


async def update_record(
    session: AsyncSession, record_id: uuid.UUID, data: RecordUpdate, *, actor: Actor, now: datetime
) -> AttendanceRecord:
    record = await session.scalar(
        select(AttendanceRecord).where(AttendanceRecord.id == record_id).with_for_update()
    )
    if record is None:
        raise RecordNotFound("No such attendance record")
    user = await session.get(User, record.user_id)
    assert user is not None
    old = audit.snapshot(record, AUDIT_FIELDS)
    if data.check_in_at is not None:
        record.check_in_at = data.check_in_at
    if data.check_out_at is not None:
        record.check_out_at = data.check_out_at
    if data.notes is not None:
        record.notes = data.notes
    await _recompute(session, record, now)
    await _save(session, record)
    before, after = audit.changed(old, audit.snapshot(record, AUDIT_FIELDS))
    await audit.record(
        session, actor, "attendance.correction_update", "attendance_record", record.id,
        old=before, new={**after, "reason": data.reason},
    )  # fmt: skip
    changes = {k: [before.get(k), v] for k, v in after.items()}
    await _notify(session, user, record, data.reason, actor, changes)
    return record
