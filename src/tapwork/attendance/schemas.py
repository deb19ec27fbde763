from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from tapwork.biometric.schemas import Base64Image, FaceStepRead
from tapwork.kit.types import Instant, Reason, StrictInput, no_nul

MAX_CODE_DATA = 128  # scan_events.code_data
MAX_SCAN_ID = 64  # scan_events.client_scan_id
CodeData = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_CODE_DATA), AfterValidator(no_nul)
]
ScanId = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_SCAN_ID), AfterValidator(no_nul)
]
Notes = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=1000), AfterValidator(no_nul)
]


class ScanIn(StrictInput):
    code_data: CodeData = Field(description="The text read from the badge (QR or Code128)")
    client_scan_id: ScanId = Field(
        description="Idempotency key chosen by the kiosk; a retry with the same id returns the "
        "first answer"
    )
    captured_at: Instant | None = Field(
        None, description="When the scan happened, for scans sent later from the offline queue"
    )
    face_image: Base64Image | None = Field(
        None,
        description="One camera frame (base64 JPEG) where face verification is on "
        "(GET /biometric/kiosk/config); never stored. Online scans only.",
    )


class Employee(BaseModel):
    id: uuid.UUID
    display_name: str


class ScanResult(BaseModel):
    action: Literal["check_in", "check_out", "held"]
    status: str | None = None
    minutes_late: int | None = None
    worked_minutes: int | None = None
    overtime_minutes: int | None = None
    early_leave_minutes: int | None = None
    employee: Employee | None = None
    at: datetime | None = None
    location: str | None = None
    record_id: uuid.UUID | None = None
    source: str | None = None
    work_date: date | None = None
    reason: str | None = Field(None, description="Why a held scan awaits HR review")
    biometric: FaceStepRead | None = Field(None, description="The face step, when one applies")


class RecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    employee_name: str | None = None
    department_id: uuid.UUID | None = None
    shift_id: uuid.UUID | None
    location_id: uuid.UUID | None
    kiosk_id: uuid.UUID | None
    work_date: date
    check_in_at: datetime
    check_out_at: datetime | None
    status: str
    minutes_late: int
    worked_minutes: int | None
    overtime_minutes: int | None
    early_leave_minutes: int | None
    source: str
    notes: str | None
    missing_checkout_flagged_at: datetime | None
    location_name: str | None = None
    timezone: str = Field(
        "UTC",
        description="IANA zone of the record's location: its times are shown in this zone, "
        "where the shift rules read them (UTC when the record has no location)",
    )
    corrected: bool = Field(
        False, description="Added or changed by hand (a correction with a reason in the audit log)"
    )


class Totals(BaseModel):
    """Your row of the attendance report (`GET /reports/me`, same SQL): held scans never
    count; a night shift belongs to the day it starts; late and minutes late are each day's
    first check-in; overtime is worked time past the shift's length on a scheduled day, all of
    it on other days. `records`, `open_records` and `early_leave_minutes` count the records
    listed."""

    records: int
    days_present: int
    late_count: int
    minutes_late: int
    worked_minutes: int
    overtime_minutes: int
    early_leave_minutes: int
    open_records: int
    scheduled_days: int = Field(description="working days of your shift, holidays excluded")
    absences: int = Field(description="scheduled days, already due, without a check-in")
    early_leaves: int = Field(description="days whose last record ended before the shift")
    regular_minutes: int = Field(description="worked minutes that are not overtime")
    attendance_rate: float | None = Field(
        description="percent of due scheduled days present; null when none was due"
    )
    open_days: int = Field(description="days with a record still open (no check-out)")
    held_scans: int = Field(description="offline scans held for review, not counted yet")


class MyAttendance(BaseModel):
    start_date: date
    end_date: date
    items: list[RecordRead]
    totals: Totals


class LivePerson(BaseModel):
    user_id: uuid.UUID
    employee_name: str
    department_id: uuid.UUID | None
    record_id: uuid.UUID
    check_in_at: datetime
    status: str


class LiveLocation(BaseModel):
    location_id: uuid.UUID | None
    location: str | None
    timezone: str = Field(
        "UTC", description="IANA zone of the location: its check-ins are read there"
    )
    count: int
    people: list[LivePerson]


class Live(BaseModel):
    at: datetime
    total: int
    locations: list[LiveLocation]


class CorrectionCreate(StrictInput):
    user_id: uuid.UUID
    check_in_at: Instant
    check_out_at: Instant | None = None
    location_id: uuid.UUID | None = None
    reason: Reason
    notes: Notes | None = None


class RecordUpdate(StrictInput):
    """Edit or close a record. Omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    check_in_at: Instant | None = None
    check_out_at: Instant | None = None
    notes: Notes | None = None
    reason: Reason


class ReviewDecision(StrictInput):
    note: Notes | None = None


class HeldScan(BaseModel):
    id: uuid.UUID
    kiosk_id: uuid.UUID
    user_id: uuid.UUID | None
    employee_name: str | None
    captured_at: datetime | None
    received_at: datetime
    reason: str | None
    review_status: str | None
    location_name: str | None = Field(None, description="Where the kiosk that held it stands")
    timezone: str = Field(
        "UTC", description="IANA zone of the kiosk's location: its times are shown in this zone"
    )


class ReviewQueue(BaseModel):
    held_scans: list[HeldScan]
    missing_checkouts: list[RecordRead]
