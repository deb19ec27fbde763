"""The JSON shape of every report (also the column names of its CSV)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from tapwork.attendance.models import RECORD_STATUSES
from tapwork.kit.types import StrictInput


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


class Layout(StrEnum):
    GENERIC = "generic"
    GUSTO = "gusto"
    DATEV = "datev"


class AttendanceRow(BaseModel):
    employee_id: str
    last_name: str
    first_name: str
    department: str
    location: str
    timezone: str
    scheduled_days: int = Field(
        description="Working days of the shift in the range, holidays excluded"
    )
    days_present: int
    late_count: int = Field(description="Days whose first check-in was late")
    minutes_late: int
    early_leaves: int
    absences: int = Field(description="Scheduled days with no check-in, once the shift started")
    holidays: int = Field(description="Working days of the shift that were holidays")
    worked_minutes: int
    regular_minutes: int
    overtime_minutes: int
    worked_hours: float
    regular_hours: float
    overtime_hours: float
    attendance_rate: float | None = Field(description="% of elapsed scheduled days present")
    open_days: int = Field(description="Days with a record still open (no check-out)")
    offline_records: int
    corrected_records: int
    held_scans: int = Field(description="Offline scans awaiting HR review: never counted")
    user_id: uuid.UUID


class DepartmentDayRow(BaseModel):
    date: date
    department: str
    employees: int
    scheduled: int
    present: int
    present_scheduled: int
    late: int
    absent: int
    attendance_rate: float | None


class TimesheetRow(BaseModel):
    employee_id: str
    last_name: str
    first_name: str
    department: str
    date: date
    timezone: str
    first_check_in: datetime | None = Field(description="Local wall time, no offset")
    last_check_out: datetime | None
    pairs: str = Field(description='Local "HH:MM-HH:MM" pairs, space separated')
    status: str
    minutes_late: int
    worked_minutes: int
    regular_minutes: int
    overtime_minutes: int
    worked_hours: float
    regular_hours: float
    overtime_hours: float
    flags: str = Field(description="Space separated: offline, corrected, held, open")


class Report(BaseModel):
    kind: str
    organisation: str
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    generated_at: datetime
    rows: list[dict[str, object]] = Field(
        description="AttendanceRow, DepartmentDayRow, TimesheetRow, or for the monthly sheet "
        "one key per ISO date with a code (P L E O A H N) and total_<code> counts"
    )


class DashboardDay(BaseModel):
    days_ago: int = Field(description="0 is today in each employee's location's zone")
    date: date
    on_time: int
    late: int
    absent: int


class DashboardPerson(BaseModel):
    user_id: uuid.UUID
    employee_id: str
    first_name: str
    last_name: str
    location: str | None


class DashboardAbsent(DashboardPerson):
    department: str | None


class DashboardLate(DashboardPerson):
    minutes_late: int
    first_in: datetime
    timezone: str = Field(
        description="IANA zone of the employee's location: first_in is read there"
    )


class Dashboard(BaseModel):
    """What GET /reports/dashboard answers (documented here; the SQL writes the JSON)."""

    days: list[DashboardDay]
    absent: list[DashboardAbsent]
    late: list[DashboardLate]


ScheduleKind = Literal["attendance", "department-summary", "timesheet", "monthly-sheet"]
ScheduleFormat = Literal["xlsx", "pdf", "csv"]
Frequency = Literal["weekly", "monthly"]


class ScheduleCreate(StrictInput):
    kind: ScheduleKind
    format: ScheduleFormat
    frequency: Frequency = Field(
        description="weekly: each finished Monday-Sunday week; monthly: each finished month"
    )
    department_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    employee_id: uuid.UUID | None = None
    recipient_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=50,
        description="Users holding a reports permission; empty means yourself. Naming others "
        "needs reports:read_all. Each copy is computed with its recipient's permissions.",
    )


class ScheduleUpdate(StrictInput):
    """Only the fields given change; `null` clears a filter."""

    kind: ScheduleKind | None = None
    format: ScheduleFormat | None = None
    frequency: Frequency | None = None
    department_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    employee_id: uuid.UUID | None = None
    recipient_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=50)


class Recipient(BaseModel):
    id: uuid.UUID
    full_name: str
    email: str


class ScheduleRead(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    kind: ScheduleKind
    format: ScheduleFormat
    frequency: Frequency
    department_id: uuid.UUID | None
    location_id: uuid.UUID | None
    employee_id: uuid.UUID | None
    recipients: list[Recipient]
    created_at: datetime
    last_period_start: date | None = Field(description="The last period computed, if any")


class MySummary(BaseModel):
    """The caller's own figures over a range: their row of the attendance report."""

    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    scheduled_days: int
    days_present: int
    late_count: int
    minutes_late: int
    early_leaves: int
    absences: int
    worked_minutes: int
    regular_minutes: int
    overtime_minutes: int
    attendance_rate: float | None
    open_days: int
    held_scans: int


ExportStatus = Literal["queued", "running", "done", "failed", "expired"]


class ExportCreate(StrictInput):
    """A report to compute in the background: the GET endpoints' parameters as a body."""

    kind: ScheduleKind
    format: Format = Field(description="json, csv, xlsx or pdf")
    layout: Layout = Field(
        default=Layout.GENERIC, description="Timesheet CSV layout: generic, gusto or datev"
    )
    lang: Literal["en", "es"] | None = Field(
        default=None, description="Language of XLSX/PDF labels; else Accept-Language"
    )
    from_date: date = Field(alias="from", description="First local date of the range")
    to_date: date = Field(alias="to", description="Last local date of the range (inclusive)")
    department_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = Field(
        default=None, description="Only this employee (ignored by the department summary)"
    )
    location_id: uuid.UUID | None = None
    status: str | None = Field(
        default=None,
        pattern="^(" + "|".join(RECORD_STATUSES) + ")$",
        description="Only days (timesheet) or employees (others) with this record status; "
        "ignored by the department summary",
    )


class ExportFilters(BaseModel):
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    department_id: uuid.UUID | None
    user_id: uuid.UUID | None
    location_id: uuid.UUID | None
    status: str | None = Field(description="The record-status filter, if any")


class ExportRead(BaseModel):
    """A background report. Download its file from `file_url` once `status` is `done`,
    until `expires_at`."""

    id: uuid.UUID
    kind: ScheduleKind
    format: Format
    layout: Layout
    lang: Literal["en", "es"]
    filters: ExportFilters
    status: ExportStatus = Field(
        description="queued, running, done, failed (see error_code), or expired (file deleted)"
    )
    progress_done: int = Field(description="Rows written (CSV) or stages done (other formats)")
    progress_total: int | None = Field(description="Rows (CSV) or stages; null until known")
    rows: int | None = Field(description="Data rows in the file, once known")
    size_bytes: int | None = Field(description="The file's size once done")
    filename: str
    file_url: str | None = Field(description="Where to download the file while it is done")
    error_code: str | None = Field(
        description="Why it failed: the code the same GET would have answered (e.g. "
        "DEPARTMENT_FORBIDDEN, FORMAT_NOT_AVAILABLE), or EXPORT_ABANDONED"
    )
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
