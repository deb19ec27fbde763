from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from tapwork.attendance.models import RECORD_STATUSES
from tapwork.auth.deps import CurrentUser
from tapwork.db import DbSession, unit_of_work
from tapwork.deps import AppSettings, Now
from tapwork.report import labels, queries, render, schedules, service
from tapwork.report.deps import DepartmentReader, Generation, ReportReader, Scheduler
from tapwork.report.errors import FormatNotAvailable
from tapwork.report.schemas import (
    Dashboard,
    Format,
    Layout,
    MySummary,
    Report,
    ScheduleCreate,
    ScheduleRead,
    ScheduleUpdate,
)
from tapwork.report.service import Filters, Scope

router = APIRouter(prefix="/reports", tags=["reports"])

_MEDIA = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.PDF: "application/pdf",
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": Report,
        "content": {media: {} for media in _MEDIA.values()},
        "description": "JSON, or the file in the requested format",
    },
    403: {"description": "FORBIDDEN / DEPARTMENT_FORBIDDEN"},
    404: {"description": "USER_NOT_FOUND (an employee you may not see)"},
    422: {"description": "VALIDATION_ERROR / INVALID_RANGE / FORMAT_NOT_AVAILABLE"},
    429: {"description": "RATE_LIMITED: 10 report generations per hour per user"},
}

From = Annotated[date, Query(alias="from", description="First local date of the range")]
To = Annotated[date, Query(alias="to", description="Last local date of the range (inclusive)")]
Dept = Annotated[uuid.UUID | None, Query(description="Only this department")]
Employee = Annotated[uuid.UUID | None, Query(description="Only this employee (user id)")]
Loc = Annotated[uuid.UUID | None, Query(description="Only employees of this location")]
Status = Annotated[
    str | None,
    Query(
        pattern="^(" + "|".join(RECORD_STATUSES) + ")$",
        description="Only days whose first check-in has this status (timesheet), or employees "
        "with at least one such day (other reports)",
    ),
]
Fmt = Annotated[Format, Query(description="json, csv (streamed), xlsx or pdf")]
Lang = Annotated[
    str | None,
    Query(pattern="^(en|es)$", description="Language of XLSX/PDF labels; else Accept-Language"),
]


async def _produce(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    now: datetime,
    kind: str,
    scope: Scope,
    fmt: Format,
    lang: labels.Lang,
    layout: Layout = Layout.GENERIC,
) -> Response:
    f = scope.filters
    name = f"{kind}_{f.from_date.isoformat()}_{f.to_date.isoformat()}"
    if layout is not Layout.GENERIC:
        if fmt is not Format.CSV:
            raise FormatNotAvailable("Payroll layouts are CSV files", layout=layout.value)
        name += f"_{layout.value}"
    sql = service.sql_for(kind, f, layout.value)
    if fmt is Format.CSV:
        delimiter = ";" if layout is Layout.DATEV else ","
        sessionmaker = request.app.state.sessionmaker

        async def stream() -> AsyncIterator[bytes]:
            # Its own session: the request's unit of work has ended before the body is sent.
            async with unit_of_work(sessionmaker) as own:
                conn = await service.driver_connection(own)
                async for chunk in service.copy_csv(conn, sql, scope, now, delimiter=delimiter):
                    yield chunk

        return StreamingResponse(
            stream(),
            media_type=_MEDIA[fmt],
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    conn = await service.driver_connection(session)
    meta = render.Meta(kind, settings.organisation_name, f.from_date, f.to_date, now, lang)
    if fmt is Format.JSON:
        body = await service.json_document(conn, sql, scope, now, meta)
        return Response(body, media_type="application/json")
    data = await service.file_document(conn, sql, scope, now, meta, fmt.value)
    return Response(
        data,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt.value}"'},
    )


async def _scope(
    session: DbSession,
    principal: Any,
    from_date: date,
    to_date: date,
    department_id: uuid.UUID | None,
    employee_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    status: str | None,
    limit: int = service.MAX_DAYS,
) -> Scope:
    filters = Filters(from_date, to_date, department_id, employee_id, location_id, status)
    service.check_range(filters, limit)
    viewer = service.Viewer(principal.user.id, principal.permissions)
    return await service.resolve(session, viewer, filters)


@router.get("/attendance", responses=_RESPONSES, dependencies=[ReportReader])
async def attendance(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    principal: Generation,
    from_date: From,
    to_date: To,
    department_id: Dept = None,
    employee_id: Employee = None,
    location_id: Loc = None,
    status: Status = None,
    format: Fmt = Format.JSON,
    lang: Lang = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:
    """Per employee over the range (local dates of each employee's location): scheduled days
    (their shift's working days, holidays excluded), days present, late count and minutes,
    early leaves, absences, hours worked / regular / overtime, attendance rate, and flags
    (offline, corrected, held for review: held scans never count).

    Supervisors see the departments they manage, employees only themselves. 10 generations per
    hour per user (`X-RateLimit-*` headers)."""
    scope = await _scope(
        session, principal, from_date, to_date, department_id, employee_id, location_id, status
    )
    lang_ = labels.choose(lang, accept_language)
    return await _produce(request, session, settings, now, "attendance", scope, format, lang_)


@router.get("/department-summary", responses=_RESPONSES, dependencies=[DepartmentReader])
async def department_summary(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    principal: Generation,
    from_date: From,
    to_date: To,
    department_id: Dept = None,
    location_id: Loc = None,
    format: Fmt = Format.JSON,
    lang: Lang = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:
    """Per department and local day: employees, scheduled, present, late, absent and the
    attendance rate. Needs `reports:read_department` (your departments) or `reports:read_all`."""
    scope = await _scope(
        session, principal, from_date, to_date, department_id, None, location_id, None
    )
    lang_ = labels.choose(lang, accept_language)
    return await _produce(
        request, session, settings, now, "department-summary", scope, format, lang_
    )


@router.get("/timesheet", responses=_RESPONSES, dependencies=[ReportReader])
async def timesheet(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    principal: Generation,
    from_date: From,
    to_date: To,
    department_id: Dept = None,
    employee_id: Employee = None,
    location_id: Loc = None,
    status: Status = None,
    format: Fmt = Format.JSON,
    layout: Annotated[
        Layout, Query(description="CSV layout: generic, gusto (hours per employee), datev (;)")
    ] = Layout.GENERIC,
    lang: Lang = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:
    """Payroll timesheet: per employee and work date (a night shift belongs to the day it
    starts), the check-in/out pairs in the location's local time, minutes late, hours worked,
    regular and overtime, and flags. `layout=gusto|datev` gives the payroll import files
    described in docs/reports.md (CSV only)."""
    scope = await _scope(
        session, principal, from_date, to_date, department_id, employee_id, location_id, status
    )
    lang_ = labels.choose(lang, accept_language)
    return await _produce(
        request, session, settings, now, "timesheet", scope, format, lang_, layout
    )


@router.get("/monthly-sheet", responses=_RESPONSES, dependencies=[ReportReader])
async def monthly_sheet(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    principal: Generation,
    from_date: From,
    to_date: To,
    department_id: Dept = None,
    employee_id: Employee = None,
    location_id: Loc = None,
    status: Status = None,
    format: Fmt = Format.JSON,
    lang: Lang = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:
    """One row per employee, one column per day (at most 62) with a code: P present, L late,
    E left early, O open (no check-out), A absent, H holiday, N non-working day; and the total
    of each code."""
    scope = await _scope(
        session, principal, from_date, to_date, department_id, employee_id, location_id,
        status, service.MAX_SHEET_DAYS,
    )  # fmt: skip
    lang_ = labels.choose(lang, accept_language)
    return await _produce(request, session, settings, now, "monthly-sheet", scope, format, lang_)


@router.get(
    "/dashboard",
    dependencies=[DepartmentReader],
    responses={200: {"model": Dashboard, "description": "The dashboard's figures"}},
)
async def dashboard(
    session: DbSession,
    now: Now,
    principal: CurrentUser,
    department_id: Dept = None,
    location_id: Loc = None,
) -> Response:
    """The portal dashboard's figures, from the reports' SQL: for each of the last 30 days
    (`days_ago` 0 is today in each employee's location's zone) the employees on time, late and
    absent; and today's absent and late people. A check-in on a non-working day or a holiday
    is present, not "on time" against a schedule. Not counted as a report generation."""
    today = now.date()
    filters = Filters(today - timedelta(days=31), today + timedelta(days=1), department_id, None,
                      location_id)  # fmt: skip
    viewer = service.Viewer(principal.user.id, principal.permissions)
    scope = await service.resolve(session, viewer, filters)
    conn = await service.driver_connection(session)
    body = await service.scalar_json(conn, queries.DASHBOARD, scope, now)
    return Response(body, media_type="application/json")


@router.get("/me", response_model=MySummary, dependencies=[ReportReader])
async def my_summary(
    session: DbSession, now: Now, principal: CurrentUser, from_date: From, to_date: To
) -> Any:
    """Your own totals over the range (local dates of your location): your row of the
    attendance report, from the same SQL, so My history and the reports agree. Not counted
    as a report generation."""
    scope = await _scope(session, principal, from_date, to_date, None, principal.user.id, None,
                         None)  # fmt: skip
    conn = await service.driver_connection(session)
    rows = await service.fetch(conn, queries.ATTENDANCE, scope, now)
    figures = dict.fromkeys(MySummary.model_fields, 0) | {"attendance_rate": None}
    return {**figures, **(rows[0] if rows else {}), "from": from_date, "to": to_date}


# Scheduled reports (docs/reports.md): a reports permission to schedule for yourself,
# reports:read_all to name others; a schedule is seen by its owner and by reports:read_all.
_SCHEDULE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "FORBIDDEN / DEPARTMENT_FORBIDDEN"},
    404: {"description": "SCHEDULE_NOT_FOUND / USER_NOT_FOUND / DEPARTMENT_NOT_FOUND / ..."},
    422: {"description": "VALIDATION_ERROR / RECIPIENT_NOT_ALLOWED"},
}


@router.get("/schedules", response_model=list[ScheduleRead])
async def list_schedules(session: DbSession, principal: Scheduler) -> list[ScheduleRead]:
    """Your scheduled reports (HR: everyone's), oldest first."""
    viewer = schedules.viewer_of(principal.user)
    return await schedules.read(session, await schedules.list_schedules(session, viewer))


@router.post("/schedules", response_model=ScheduleRead, status_code=201, responses=_SCHEDULE_ERRORS)
async def create_schedule(
    session: DbSession, principal: Scheduler, now: Now, body: ScheduleCreate
) -> ScheduleRead:
    """Mail a report after each finished week or month, as XLSX, PDF or CSV, to you or (HR)
    to named users holding a reports permission; each copy with its recipient's permissions,
    nothing when the period has no data."""
    schedule = await schedules.create(session, principal.user, body, actor=principal.actor, now=now)
    return (await schedules.read(session, [schedule]))[0]


@router.get(
    "/schedules/{schedule_id:uuid}", response_model=ScheduleRead, responses=_SCHEDULE_ERRORS
)
async def get_schedule(
    session: DbSession, principal: Scheduler, schedule_id: uuid.UUID
) -> ScheduleRead:
    schedule = await schedules.get(session, schedules.viewer_of(principal.user), schedule_id)
    return (await schedules.read(session, [schedule]))[0]


@router.patch(
    "/schedules/{schedule_id:uuid}", response_model=ScheduleRead, responses=_SCHEDULE_ERRORS
)
async def update_schedule(
    session: DbSession, principal: Scheduler, now: Now, schedule_id: uuid.UUID,
    body: ScheduleUpdate,
) -> ScheduleRead:  # fmt: skip
    """Change the fields given; the recipients and filters are checked again."""
    schedule = await schedules.update(
        session, principal.user, schedule_id, body, actor=principal.actor, now=now
    )
    return (await schedules.read(session, [schedule]))[0]


@router.delete("/schedules/{schedule_id:uuid}", status_code=204, responses=_SCHEDULE_ERRORS)
async def delete_schedule(
    session: DbSession, principal: Scheduler, schedule_id: uuid.UUID
) -> Response:
    await schedules.remove(
        session, schedules.viewer_of(principal.user), schedule_id, actor=principal.actor
    )
    return Response(status_code=204)
