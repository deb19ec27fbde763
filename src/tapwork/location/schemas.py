from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from tapwork.kit.types import Label, StrictInput, no_nul


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError("must be an IANA timezone name such as Europe/Madrid")
    return name


Timezone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_known_zone),
    Field(examples=["Europe/Madrid"]),
]
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=300), AfterValidator(no_nul)
]


class LocationCreate(StrictInput):
    name: Label
    timezone: Timezone = Field(description="IANA name; shift times are read in this zone")
    address: Address = ""


class LocationUpdate(StrictInput):
    """Only the fields sent change; null means unchanged."""

    name: Label | None = None
    timezone: Timezone | None = None
    address: Address | None = None


class LocationRead(BaseModel):
    id: uuid.UUID
    name: str
    timezone: str
    address: str
    user_count: int
    kiosk_count: int
    created_at: datetime
    updated_at: datetime
