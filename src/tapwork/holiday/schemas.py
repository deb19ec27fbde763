from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from tapwork.kit.types import Day, Label, StrictInput


class HolidayCreate(StrictInput):
    holiday_date: Day
    name: Label
    location_id: uuid.UUID | None = Field(
        default=None, description="the location it applies to; null = every location"
    )


class HolidayUpdate(StrictInput):
    """Only the fields sent change. `location_id: null` makes it apply everywhere; null
    elsewhere means unchanged."""

    holiday_date: Day | None = None
    name: Label | None = None
    location_id: uuid.UUID | None = None


class HolidayRead(BaseModel):
    id: uuid.UUID
    holiday_date: date
    name: str
    location_id: uuid.UUID | None
    location_name: str | None
    created_at: datetime
    updated_at: datetime
