from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from tapwork.kit.types import Label, StrictInput

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
EMPTY_SHIFT = "end_time must differ from start_time (end before start crosses midnight)"


def _parse_hhmm(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (match := _HHMM.match(value)):
        return time(int(match[1]), int(match[2]))
    raise ValueError("must be a local time as HH:MM, 00:00 to 23:59")


def _distinct_sorted(days: list[int]) -> list[int]:
    if len(set(days)) != len(days):
        raise ValueError("working days must be distinct")
    return sorted(days)


LocalTime = Annotated[
    time,
    BeforeValidator(_parse_hhmm),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _HHMM.pattern, "examples": ["09:00"]}),
]
IsoWeekday = Annotated[int, Field(ge=1, le=7)]
WorkingDays = Annotated[
    list[IsoWeekday],
    Field(min_length=1, max_length=7, description="ISO weekdays, 1 = Monday … 7 = Sunday"),
    AfterValidator(_distinct_sorted),
]
GraceMinutes = Annotated[int, Field(ge=0, le=240)]
EarlyMinutes = Annotated[int, Field(ge=0, le=720)]


class ShiftCreate(StrictInput):
    name: Label
    start_time: LocalTime
    end_time: LocalTime = Field(description="at or before start_time: the shift crosses midnight")
    grace_minutes: GraceMinutes = 5
    early_threshold_minutes: EarlyMinutes = 30
    working_days: WorkingDays = Field(default_factory=lambda: [1, 2, 3, 4, 5])

    @field_validator("end_time")
    @classmethod
    def _not_empty(cls, end: time, info: ValidationInfo) -> time:
        if info.data.get("start_time") == end:
            raise ValueError(EMPTY_SHIFT)
        return end


class ShiftUpdate(StrictInput):
    """Only the fields sent change; null means unchanged."""

    name: Label | None = None
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    grace_minutes: GraceMinutes | None = None
    early_threshold_minutes: EarlyMinutes | None = None
    working_days: WorkingDays | None = None


class ShiftRead(BaseModel):
    id: uuid.UUID
    name: str
    start_time: LocalTime
    end_time: LocalTime
    grace_minutes: int
    early_threshold_minutes: int
    working_days: list[int]
    crosses_midnight: bool = Field(description="the shift ends on the day after it starts")
    duration_minutes: int
    user_count: int = Field(description="users assigned to this shift")
    created_at: datetime
    updated_at: datetime
