from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from tapwork.kiosk.models import Kiosk
from tapwork.kit.types import Label, StrictInput, no_nul

AppVersion = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(no_nul)
]
PairingCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
    AfterValidator(no_nul),
]


class KioskCreate(StrictInput):
    name: Label
    location_id: uuid.UUID


class KioskUpdate(StrictInput):
    """Fields left out keep their value."""

    name: Label | None = None
    location_id: uuid.UUID | None = None


class LocationBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    timezone: str


class KioskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    location: LocationBrief
    status: Literal["pending", "active", "revoked"] = Field(
        description="pending: enrolled, not yet paired; active: paired; revoked"
    )
    paired_at: datetime | None
    pairing_expires_at: datetime | None = Field(description="when the open pairing code expires")
    last_seen_at: datetime | None = Field(description="updated at most every 30 s")
    app_version: str | None
    clock_offset_ms: int | None = Field(description="kiosk clock minus server clock")
    offline_queue: int | None = Field(
        description="scans waiting in the device's offline queue, as last reported "
        "(X-Kiosk-Queue, with the app's 5-minute refresh); null: never reported"
    )
    silent_since: datetime | None = Field(
        default=None,
        description="while a silent-kiosk incident is open: when it was raised (the kiosk "
        "was not heard from for KIOSK_SILENT_MINUTES of opening hours); else null",
    )
    revoked_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, kiosk: Kiosk, *, silent: dict[uuid.UUID, datetime] | None = None) -> KioskRead:
        read = cls.model_validate(kiosk)
        read.silent_since = (silent or {}).get(kiosk.id)
        return read


class KioskEnrolled(BaseModel):
    kiosk: KioskRead
    pairing_code: str = Field(description="one-time code for POST /kiosks/pair; shown once")
    pairing_expires_at: datetime


class PairRequest(StrictInput):
    pairing_code: PairingCode = Field(description="case, spaces and dashes are ignored")
    app_version: AppVersion | None = None


class PairedKiosk(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    location: LocationBrief


class PairResponse(BaseModel):
    device_token: str = Field(description="send as X-Kiosk-Token; shown once, stored hashed")
    kiosk: PairedKiosk


class KioskMe(BaseModel):
    kiosk: PairedKiosk
    location: LocationBrief
    server_time: datetime = Field(description="server clock, for the kiosk's offset display")
    clock_offset_ms: int | None
