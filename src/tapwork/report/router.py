from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from tapwork.attendance.models import RECORD_STATUSES
from tapwork.auth.deps import CurrentUser, Principal
from tapwork.db import DbSession, unit_of_work
from tapwork.deps import AppSettings, Now
from tapwork.errors import Forbidden
from tapwork.report import exports, labels, queries, render, schedules, service
from tapwork.report.deps import (
    DepartmentReader,
    Generation,
    ReportReader,
    Scheduler,
    count_generation,
)
from tapwork.report.errors import ExportExpired, ExportNotReady, FormatNotAvailable
from tapwork.report.models import ReportExport
from tapwork.report.schemas import (
    Dashboard,
    ExportCreate,
    ExportRead,
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
    202: {
        "model": ExportRead,
        "description": "An XLSX or PDF of more than `REPORT_INLINE_ROWS` rows (20,000 by "
        "default): queued as an export for the worker (`Location` is the export to poll; it "
        "counts as this one generation)",
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
Fmt = Annotated[
    Format,
    Query(
        description="json, csv (streamed), xlsx or pdf; an XLSX or PDF of more than "
        "`REPORT_INLINE_ROWS` rows answers 202 with an export instead"
    ),
]
Lang = Annotated[
    str | None,
    Query(pattern="^(en|es)$", description="Language of XLSX/PDF labels; else Accept-Language"),
]


@dataclass(frozen=True, slots=True)
class ReportParams:
    """A report request's query parameters (the same for every report endpoint)."""

    filters: Filters
    format: Format
    lang: labels.Lang


async def _summary_query(
    from_date: From,
    to_date: To,
    department_id: Dept = None,
    location_id: Loc = None,
    format: Fmt = Format.JSON,
    lang: Lang = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> ReportParams:
    filters = Filters(from_date, to_date, department_id, None, location_id, None)
    return ReportParams(filters, format, labels.choose(lang, accept_language))


async def _report_query(
    base: Annotated[ReportParams, Depends(_summary_query)],
    employee_id: Employee = None,
    status: Status = None,
) -> ReportParams:
    return replace(base, filters=replace(base.filters, user_id=employee_id, status=status))


# The department summary has no employee or status filter; the other reports have both.
SummaryQuery = Annotated[ReportParams, Depends(_summary_query)]
ReportQuery = Annotated[ReportParams, Depends(_report_query)]


def _export_read(export: ReportExport) -> ExportRead:
    url = f"/api/v1/reports/exports/{export.id}/file" if export.status == "done" else None
    return ExportRead.model_validate({
        "id": export.id, "kind": export.kind, "format": export.format, "layout": export.layout,
        "lang": export.lang, "status": export.status, "progress_done": export.progress_done,
        "progress_total": export.progress_total, "rows": export.rows,
        "size_bytes": export.size_bytes, "filename": exports.filename(export), "file_url": url,
        "error_code": export.error_code, "error_message": export.error_message,
        "created_at": export.created_at, "started_at": export.started_at,
        "finished_at": export.finished_at, "expires_at": export.expires_at,
        "filters": {
            "from": export.from_date, "to": export.to_date, "department_id": export.department_id,
            "user_id": export.employee_id, "location_id": export.location_id,
            "status": export.record_status,
        },
    })  # fmt: skip


def _queued(export: ReportExport) -> Response:
    body = _export_read(export).model_dump_json(by_alias=True)
    location = f"/api/v1/reports/exports/{export.id}"
    return Response(body, status_code=202, media_type="application/json",
                    headers={"Location": location})  # fmt: skip


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
    if layout is not Layout.GENERIC:  # a CSV: _answer refused the other formats
        name += f"_{layout.value}"
    sql = service.sql_for(kind, f, layout.value)
    meta = render.Meta(kind, settings.organisation_name, f.from_date, f.to_date, now, lang)
    if fmt in (Format.CSV, Format.JSON):
        delimiter = ";" if layout is Layout.DATEV else ","
        sessionmaker = request.app.state.sessionmaker

        async def stream() -> AsyncIterator[bytes]:
            # Its own session: the request's unit of work has ended before the body is sent.
            async with unit_of_work(sessionmaker) as own:
                conn = await service.driver_connection(own)
                chunks: AsyncIterator[bytes] = (
                    service.json_document(conn, sql, scope, now, meta)
                    if fmt is Format.JSON
                    else service.copy_csv(conn, sql, scope, now, delimiter=delimiter)
                )
                async for chunk in chunks:
                    yield chunk

        if fmt is Format.JSON:
            return StreamingResponse(stream(), media_type="application/json")
        return StreamingResponse(
            stream(),
            media_type=_MEDIA[fmt],
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    conn = await service.driver_connection(session)
    data = await service.file_document(conn, sql, scope, now, meta, fmt.value)
    return Response(
        data,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt.value}"'},
    )


async def _scope(session: DbSession, principal: Principal, filters: Filters, kind: str) -> Scope:
    limit = service.MAX_SHEET_DAYS if kind == "monthly-sheet" else service.MAX_DAYS
    service.check_range(filters, limit)
    if kind == "department-summary":
        filters = replace(filters, user_id=None, status=None)
    viewer = service.Viewer(principal.user.id, principal.permissions)
    return await service.resolve(session, viewer, filters)


async def _answer(
    request: Request, session: DbSession, settings: AppSettings, now: datetime,
    principal: Principal, kind: str, q: ReportParams, layout: Layout = Layout.GENERIC,
) -> Response:  # fmt: skip
    scope = await _scope(session, principal, q.filters, kind)
    if layout is not Layout.GENERIC and q.format is not Format.CSV:
        raise FormatNotAvailable("Payroll layouts are CSV files", layout=layout.value)
    if q.format in (Format.XLSX, Format.PDF):
        # Built in the request (XLSX in /tmp, PDF in memory): a large one is the worker's
        # (202 + the export to poll).
        conn = await service.driver_connection(session)
        sql = service.sql_for(kind, scope.filters, layout.value)
        rows = await service.count_rows(conn, sql, scope, now)
        if q.format is Format.XLSX:
            service.check_xlsx_rows(rows)
        if rows > settings.report_inline_rows or (
            q.format is Format.XLSX and not service.xlsx_fits_inline(kind, scope.filters, rows)
        ):
            if q.format is Format.PDF and rows > service.MAX_PDF_ROWS:
                raise FormatNotAvailable(
                    f"Too many rows for a PDF ({rows}); use CSV or XLSX",
                    max_rows=service.MAX_PDF_ROWS,
                )
            wanted = exports.Request(kind, q.format.value, scope.filters, q.lang, layout.value)
            export = await exports.create(session, principal.user.id, wanted, now=now)
            return _queued(export)
    return await _produce(request, session, settings, now, kind, scope, q.format, q.lang, layout)


@router.get("/attendance", responses=_RESPONSES, dependencies=[ReportReader])
async def attendance(
    request: Request, session: DbSession, settings: AppSettings, now: Now,
    principal: Generation, q: ReportQuery,
) -> Response:  # fmt: skip
    """Per employee over the range (local dates of each employee's location): scheduled days
    (their shift's working days, holidays excluded), days present, late count and minutes,
    early leaves, absences, hours worked / regular / overtime, attendance rate, and flags
    (offline, corrected, held for review: held scans never count).

    Supervisors see the departments they manage, employees only themselves. 10 generations per
    hour per user (`X-RateLimit-*` headers)."""
    return await _answer(request, session, settings, now, principal, "attendance", q)


@router.get("/department-summary", responses=_RESPONSES, dependencies=[DepartmentReader])
async def department_summary(
    request: Request, session: DbSession, settings: AppSettings, now: Now,
    principal: Generation, q: SummaryQuery,
) -> Response:  # fmt: skip
    """Per department and local day: employees, scheduled, present, late, absent and the
    attendance rate. Needs `reports:read_department` (your departments) or `reports:read_all`."""
    return await _answer(request, session, settings, now, principal, "department-summary", q)


@router.get("/timesheet", responses=_RESPONSES, dependencies=[ReportReader])
async def timesheet(
    request: Request, session: DbSession, settings: AppSettings, now: Now,
    principal: Generation, q: ReportQuery,
    layout: Annotated[
        Layout, Query(description="CSV layout: generic, gusto (hours per employee), datev (;)")
    ] = Layout.GENERIC,
) -> Response:  # fmt: skip
    """Payroll timesheet: per employee and work date (a night shift belongs to the day it
    starts), the check-in/out pairs in the location's local time, minutes late, hours worked,
    regular and overtime, and flags. `layout=gusto|datev` gives the payroll import files
    described in docs/reports.md (CSV only)."""
    return await _answer(request, session, settings, now, principal, "timesheet", q, layout)


@router.get("/monthly-sheet", responses=_RESPONSES, dependencies=[ReportReader])
async def monthly_sheet(
    request: Request, session: DbSession, settings: AppSettings, now: Now,
    principal: Generation, q: ReportQuery,
) -> Response:  # fmt: skip
    """One row per employee, one column per day (at most 62) with a code: P present, L late,
    E left early, O open (no check-out), A absent, H holiday, N non-working day; and the total
    of each code."""
    return await _answer(request, session, settings, now, principal, "monthly-sheet", q)


# Exports (docs/reports.md, "Exports"): a report computed by the worker, for its owner only.
_EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "EXPORT_NOT_FOUND (also anyone else's export)"},
}


@router.post(
    "/exports",
    status_code=202,
    response_model=ExportRead,
    dependencies=[ReportReader],
    responses={
        202: {"description": "Queued; poll `Location` until `status` is `done`"},
        403: _RESPONSES[403],
        404: _RESPONSES[404],
        422: _RESPONSES[422],
        429: _RESPONSES[429],
    },
)
async def create_export(
    request: Request, response: Response, session: DbSession, settings: AppSettings, now: Now,
    principal: CurrentUser, body: ExportCreate,
    accept_language: Annotated[str | None, Header()] = None,
) -> ExportRead:  # fmt: skip
    """Compute a report in the background (any kind and format, the GET endpoints' filters),
    with your permissions as they are when the worker runs it. Checked like the GET (403, 404,
    422 alike) and counted as one of your 10 report generations per hour. Poll
    `GET /reports/exports/{id}` for its progress, then download `file_url`; the file is kept
    `REPORT_EXPORT_TTL_HOURS` (24 by default)."""
    if not exports.may_export(principal.permissions, body.kind):
        raise Forbidden(
            "You do not have permission for this action",
            required=sorted(exports.DEPARTMENT_READERS),
        )
    await count_generation(request, principal, settings, now)
    filters = Filters(body.from_date, body.to_date, body.department_id, body.user_id,
                      body.location_id, body.status)  # fmt: skip
    scope = await _scope(session, principal, filters, body.kind)
    layout = body.layout
    if layout is not Layout.GENERIC and (body.format is not Format.CSV or body.kind != "timesheet"):
        raise FormatNotAvailable("Payroll layouts are timesheet CSV files", layout=layout.value)
    lang = labels.choose(body.lang, accept_language)
    wanted = exports.Request(body.kind, body.format.value, scope.filters, lang, layout.value)
    export = await exports.create(session, principal.user.id, wanted, now=now)
    response.headers["Location"] = f"/api/v1/reports/exports/{export.id}"
    return _export_read(export)


@router.get("/exports", response_model=list[ExportRead], dependencies=[ReportReader])
async def list_exports(
    session: DbSession, principal: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many")] = 20,
) -> list[ExportRead]:  # fmt: skip
    """Your exports, newest first (expired ones stay listed a week without their file)."""
    return [_export_read(e) for e in await exports.list_own(session, principal.user.id, limit)]


@router.get(
    "/exports/{export_id:uuid}", response_model=ExportRead, responses=_EXPORT_ERRORS,
    dependencies=[ReportReader],
)  # fmt: skip
async def get_export(
    session: DbSession, principal: CurrentUser, export_id: uuid.UUID
) -> ExportRead:
    """Status and progress of one of your exports (`progress_done` of `progress_total`: rows
    for CSV, stages for the other formats)."""
    return _export_read(await exports.get_own(session, principal.user.id, export_id))


@router.get(
    "/exports/{export_id:uuid}/file",
    dependencies=[ReportReader],
    responses={
        200: {
            "content": {media: {} for media in exports.MEDIA.values()},
            "description": "The file, with a Content-Disposition filename",
        },
        404: _EXPORT_ERRORS[404],
        409: {"description": "EXPORT_NOT_READY: still queued or running, or it failed"},
        410: {"description": "EXPORT_EXPIRED: the file was deleted after its time"},
    },
)
async def export_file(
    request: Request, session: DbSession, now: Now, principal: CurrentUser, export_id: uuid.UUID
) -> Response:
    """Download the file of one of your exports once it is done, until it expires."""
    export = await exports.get_own(session, principal.user.id, export_id)
    if exports.is_expired(export, now):
        raise ExportExpired("This export's file has expired; ask for the report again")
    if export.status != "done":
        raise ExportNotReady(
            "The export is not ready" if export.status in ("queued", "running")
            else "The export failed; see its error_code",
            status=export.status, error_code=export.error_code,
        )  # fmt: skip
    return StreamingResponse(
        exports.chunks(request.app.state.sessionmaker, export.id),
        media_type=exports.MEDIA[export.format],
        headers={
            "Content-Disposition": f'attachment; filename="{exports.filename(export)}"',
            "Content-Length": str(export.size_bytes),
        },
    )


@router.delete(
    "/exports/{export_id:uuid}", status_code=204, responses=_EXPORT_ERRORS,
    dependencies=[ReportReader],
)  # fmt: skip
async def delete_export(
    session: DbSession, principal: CurrentUser, export_id: uuid.UUID
) -> Response:
    """Delete one of your exports and its file (a running one stops)."""
    await exports.remove(session, await exports.get_own(session, principal.user.id, export_id))
    return Response(status_code=204)


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
    filters = Filters(from_date, to_date, None, principal.user.id)
    scope = await _scope(session, principal, filters, "attendance")
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
