from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance import review, service
from tapwork.attendance.models import RECORD_STATUSES, AttendanceRecord
from tapwork.attendance.scan import entry
from tapwork.attendance.scan.request import ScanRequest
from tapwork.attendance.schemas import (
    CorrectionCreate,
    HeldScan,
    Live,
    LiveLocation,
    LivePerson,
    MyAttendance,
    RecordRead,
    RecordUpdate,
    ReviewDecision,
    ReviewQueue,
    ScanIn,
    ScanResult,
    Totals,
)
from tapwork.auth.deps import Principal, require
from tapwork.biometric import deps as biometric_deps
from tapwork.biometric import scan as biometric_scan
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now, client_ip
from tapwork.errors import InvalidInput
from tapwork.kiosk.deps import KioskToken
from tapwork.kit.pagination import Page, Pagination
from tapwork.kit.types import Day
from tapwork.permissions import P
from tapwork.report import service as report_service
from tapwork.user.models import User

router = APIRouter(prefix="/attendance", tags=["attendance"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    202: {"model": ScanResult, "description": "Offline scan held for HR review"},
    400: {"description": "INVALID_QR_CODE"},
    401: {"description": "KIOSK_UNAUTHORIZED / KIOSK_REVOKED"},
    403: {"description": "BADGE_REVOKED / BADGE_EXPIRED / BADGE_SUPERSEDED / USER_INACTIVE"},
    409: {"description": "DUPLICATE_SCAN / REST_PERIOD (details.available_at)"},
    422: {"description": "VALIDATION_ERROR / SCAN_ID_REUSED"},
    429: {"description": "RATE_LIMITED (per badge or per kiosk)"},
}


@router.post("", response_model=ScanResult, responses=_ERRORS)
async def scan(
    request: Request,
    token: KioskToken,
    body: ScanIn,
    now: Now,
    x_kiosk_version: Annotated[str | None, Header()] = None,
    x_kiosk_time: Annotated[str | None, Header()] = None,
) -> Response:
    """Record a badge scan: a check-in if the employee has no open record, else a check-out.

    Kiosks only (`X-Kiosk-Token`). `client_scan_id` makes the call idempotent: a retry with the
    same id returns the first answer (same status and body); the same id with another payload
    is 422 `SCAN_ID_REUSED`. Scans from the offline queue carry `captured_at`: within
    `OFFLINE_MAX_AGE_HOURS` (and at most a small skew in the future) they count at that time
    with source `offline`; otherwise they are kept for HR review and answered 202
    `{"action": "held", "reason": ...}`. Rejections use the error envelope with the codes
    listed below, and are recorded too.
    """
    # The optional face step (docs/biometric.md): verified before, filed after the scan. Only
    # scans carrying `face_image` come here for it (the fast path hands them on).
    face_client = biometric_deps.client_for(request)
    pending = None
    if (
        face_client is not None
        and body.captured_at is None
        and "face_image" in body.model_fields_set
    ):
        pending = await biometric_scan.before_scan(
            request.app.state.sessionmaker,
            face_client,
            settings=request.app.state.settings,
            kiosk_token=token,
            code_data=body.code_data,
            client_scan_id=body.client_scan_id,
            image=body.face_image,
            now=now,
        )
    # The fast path (`attendance.scan.entry`) takes every scan it can answer exactly as this
    # route would; what it hands on arrives here, and goes the same way once validated.
    outcome = await entry.submit(
        request.app,
        ScanRequest(
            kiosk_token=token,
            kiosk_version=x_kiosk_version,
            kiosk_time=x_kiosk_time,
            code_data=body.code_data,
            client_scan_id=body.client_scan_id,
            captured_at=body.captured_at,
            now=now,
            ip=client_ip(request),
            request_id=getattr(request.state, "request_id", None),
        ),
    )
    answer = outcome.body
    # Answers are sent only after their batch committed: the record the check refers to exists.
    if pending is not None and outcome.http_status == 200:
        decided = orjson.loads(answer)
        step = await biometric_scan.after_scan(
            request.app.state.sessionmaker,
            pending,
            answer=decided,
            now=now,
            ip=client_ip(request),
            request_id=getattr(request.state, "request_id", None),
        )
        if step is not None:
            answer = orjson.dumps({**decided, "biometric": step})
    return Response(
        answer,
        status_code=outcome.http_status,
        media_type="application/json",
        headers=entry.send_headers(request.scope, outcome) or None,
    )


# The route object, for the fast path in front of the router (`scan.entry.ScanFastPath`).
SCAN_ROUTE = next(r for r in router.routes if getattr(r, "endpoint", None) is scan)


async def _reads(
    session: AsyncSession, rows: list[tuple[AttendanceRecord, User | None]]
) -> list[RecordRead]:
    locations, corrected = await service.record_context(session, [r for r, _ in rows])
    out = []
    for record, user in rows:
        read = RecordRead.model_validate(record)
        if user is not None:
            read.employee_name, read.department_id = user.full_name, user.department_id
        location = locations.get(record.location_id) if record.location_id else None
        if location is not None:
            read.location_name, read.timezone = location.name, location.timezone
        read.corrected = record.id in corrected
        out.append(read)
    return out


async def _read(
    session: AsyncSession, record: AttendanceRecord, user: User | None = None
) -> RecordRead:
    return (await _reads(session, [(record, user)]))[0]


def _range(start_date: date | None, end_date: date | None, today: date) -> tuple[date, date]:
    end = end_date or today
    start = start_date or end - timedelta(days=30)
    if start > end:
        raise InvalidInput("must not be after end_date", field="query.start_date")
    if (end - start).days > 366:
        raise InvalidInput("a date range may span at most 366 days", field="query.end_date")
    return start, end


Reader = Annotated[
    Principal, require(P.ATTENDANCE_READ_OWN, P.ATTENDANCE_READ_DEPARTMENT, P.ATTENDANCE_READ_ALL)
]
Supervisor = Annotated[Principal, require(P.ATTENDANCE_READ_DEPARTMENT, P.ATTENDANCE_READ_ALL)]
Corrector = Annotated[Principal, require(P.ATTENDANCE_CORRECT)]
Reviewer = Annotated[Principal, require(P.ATTENDANCE_REVIEW)]
Status = Annotated[str | None, Query(description=f"one of {', '.join(RECORD_STATUSES)}")]


@router.get("/me", response_model=MyAttendance)
async def my_attendance(
    principal: Annotated[Principal, require(P.ATTENDANCE_READ_OWN)],
    session: DbSession,
    now: Now,
    start_date: Day | None = None,
    end_date: Day | None = None,
) -> MyAttendance:
    """Your own records between `start_date` and `end_date` (work dates, inclusive; default the
    last 30 days) with totals: days present, late count and minutes, worked, overtime, from
    your row of the attendance report (the same SQL as `GET /reports/me`), so My history and
    the reports agree."""
    start, end = _range(start_date, end_date, now.date())
    records = await service.my_records(session, principal.user.id, start, end)
    row = await report_service.own_row(session, principal.user.id, start, end, now=now)
    return MyAttendance(
        start_date=start,
        end_date=end,
        items=await _reads(session, [(r, principal.user) for r in records]),
        totals=Totals(**service.my_totals(records, row)),
    )


@router.get("", response_model=Page[RecordRead])
async def list_attendance(
    principal: Supervisor,
    session: DbSession,
    pagination: Pagination,
    user_id: uuid.UUID | None = None,
    date_: Annotated[Day | None, Query(alias="date", description="one work date")] = None,
    start_date: Day | None = None,
    end_date: Day | None = None,
    status: Status = None,
    department_id: uuid.UUID | None = None,
) -> Page[RecordRead]:
    """Attendance records, newest first. HR and admins see everyone; supervisors see the
    departments they manage: asking for another `department_id` is 403 DEPARTMENT_FORBIDDEN,
    and a `user_id` outside their departments matches nothing."""
    if status is not None and status not in RECORD_STATUSES:
        raise InvalidInput(f"must be one of {', '.join(RECORD_STATUSES)}", field="query.status")
    if date_ is not None:
        start_date = end_date = date_
    query = await service.list_records(
        session, principal, user_id=user_id, start_date=start_date, end_date=end_date,
        status=status, department_id=department_id,
    )  # fmt: skip
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = await session.execute(query.offset(pagination.offset).limit(pagination.limit))
    return Page(
        items=await _reads(session, [(r, u) for r, u in rows.all()]),
        total=int(total or 0),
        page=pagination.page,
        limit=pagination.limit,
    )


@router.get("/live", response_model=Live)
async def live(principal: Supervisor, session: DbSession, now: Now) -> Live:
    """Who is in right now (an open record), grouped by the location they checked in at.
    Supervisors see only the departments they manage."""
    groups: dict[uuid.UUID | None, LiveLocation] = {}
    for record, user, location in await service.live(session, principal):
        key = location.id if location else None
        group = groups.setdefault(
            key,
            LiveLocation(location_id=key, location=location.name if location else None,
                         timezone=location.timezone if location else "UTC", count=0, people=[]),
        )  # fmt: skip
        group.count += 1
        group.people.append(
            LivePerson(
                user_id=user.id,
                employee_name=user.full_name,
                department_id=user.department_id,
                record_id=record.id,
                check_in_at=record.check_in_at,
                status=record.status,
            )
        )
    locations = list(groups.values())
    return Live(at=now, total=sum(g.count for g in locations), locations=locations)


@router.get("/review", response_model=ReviewQueue)
async def review_queue(principal: Reviewer, session: DbSession) -> ReviewQueue:
    """What awaits HR: held offline scans (pending approval) and open records flagged by the
    missing clock-out job."""
    held, flagged = await review.queue(session)
    return ReviewQueue(
        held_scans=[
            HeldScan(
                id=e.id,
                kiosk_id=e.kiosk_id,
                user_id=e.user_id,
                employee_name=u.full_name if u else None,
                captured_at=e.captured_at,
                received_at=e.received_at,
                reason=e.error_code,
                review_status=e.review_status,
                location_name=k.location.name,
                timezone=k.location.timezone,
            )
            for e, u, k in held
        ],
        missing_checkouts=await _reads(session, [(r, u) for r, u in flagged]),
    )


@router.post("/review/{scan_id:uuid}/approve", response_model=ScanResult)
async def approve_scan(
    scan_id: uuid.UUID, principal: Reviewer, session: DbSession, settings: AppSettings, now: Now
) -> dict[str, Any]:
    """Apply a held offline scan at its capture time, with the normal scan rules. Refused with
    409 SCAN_NOT_APPLICABLE when those rules no longer allow it (correct the day instead)."""
    return await review.approve(session, scan_id, actor=principal.actor, settings=settings, now=now)


@router.post("/review/{scan_id:uuid}/reject", response_model=HeldScan)
async def reject_scan(
    scan_id: uuid.UUID,
    principal: Reviewer,
    session: DbSession,
    now: Now,
    body: ReviewDecision | None = None,
) -> HeldScan:
    """Discard a held offline scan: it stays on record (rejected) and never counts."""
    event = await review.reject(
        session, scan_id, actor=principal.actor, now=now, note=body.note if body else None
    )
    return HeldScan(
        id=event.id, kiosk_id=event.kiosk_id, user_id=event.user_id, employee_name=None,
        captured_at=event.captured_at, received_at=event.received_at, reason=event.error_code,
        review_status=event.review_status,
    )  # fmt: skip


@router.post("/corrections", response_model=RecordRead, status_code=201)
async def create_correction(
    body: CorrectionCreate, principal: Corrector, session: DbSession, now: Now
) -> RecordRead:
    """Add a record by hand (source `manual`) with a mandatory reason. Status and minutes are
    computed as for a scan; the employee is notified and the audit log keeps the values.
    409 OPEN_RECORD_EXISTS when it would be a second open record."""
    record = await service.create_correction(session, body, actor=principal.actor, now=now)
    return await _read(session, record, await session.get(User, record.user_id))


@router.get("/{record_id:uuid}", response_model=RecordRead)
async def get_record(record_id: uuid.UUID, principal: Reader, session: DbSession) -> RecordRead:
    """One record: your own, one of your departments' (supervisors), or any (HR). Others 404."""
    record, user = await service.get_visible(session, principal, record_id)
    return await _read(session, record, user)


@router.put("/{record_id:uuid}", response_model=RecordRead)
async def update_record(
    record_id: uuid.UUID, body: RecordUpdate, principal: Corrector, session: DbSession, now: Now
) -> RecordRead:
    """Edit or close a record with a mandatory reason; status and minutes are recomputed, the
    audit log keeps old and new values and the employee is notified."""
    record = await service.update_record(session, record_id, body, actor=principal.actor, now=now)
    return await _read(session, record, await session.get(User, record.user_id))
