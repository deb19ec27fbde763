from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tapwork.kit.types import StrictInput, no_nul

_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _jpeg_or_png(value: str) -> str:
    # Refused here, at the edge, rather than after a round trip to the face service.
    try:
        head = base64.b64decode(value[:24], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be a base64-encoded JPEG or PNG image") from exc
    if not head.startswith(_MAGIC):
        raise ValueError("must be a base64-encoded JPEG or PNG image")
    return value


# One base64 JPEG/PNG frame; a 640x480 kiosk JPEG is ~40-80 KB.
Base64Image = Annotated[
    str,
    Field(min_length=16, max_length=1_400_000, pattern=r"^[A-Za-z0-9+/]+={0,2}$"),
    AfterValidator(_jpeg_or_png),
]
# The badge's text, as the scan takes it (scan_events.code_data is 128 characters).
CodeData = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(no_nul)]


class NoticeRead(BaseModel):
    version: str
    text: str
    retention_days: int


class ConsentCreate(StrictInput):
    notice_version: Annotated[str, AfterValidator(no_nul)] = Field(
        min_length=1, max_length=32, description="The version of the notice the user read"
    )


class ConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    notice_version: str
    given_at: datetime
    recorded_by_label: str
    withdrawn_at: datetime | None


class BiometricStatus(BaseModel):
    user_id: uuid.UUID
    consent: ConsentRead | None
    enrolled: bool
    enrolled_at: datetime | None
    last_used_at: datetime | None
    required: bool = Field(description="Whether a kiosk of the user's department asks for it")
    enabled: bool = Field(default=False, description="Whether this server uses face verification")


class EnrollRequest(StrictInput):
    user_id: uuid.UUID
    images: list[Base64Image] = Field(min_length=3, max_length=5)


class FaceStepRead(BaseModel):
    """The face step of a scan answer (only where verification is on)."""

    outcome: Literal["match", "mismatch", "unavailable", "no_image"] | None = Field(
        description="null: no check for this person here (badge-only path)"
    )
    check_id: uuid.UUID | None = Field(description="For the retry, POST /biometric/kiosk/verify")
    retry: bool = Field(description="Offer a retry: the face did not match or was not seen")
    enroll_available: bool = Field(
        description="Consented and not enrolled: the kiosk may enrol now (POST /kiosk/enroll)"
    )


class KioskConfig(BaseModel):
    capture_face: bool = Field(description="Send one camera frame (`face_image`) with each scan")


class KioskEnrollRequest(StrictInput):
    code_data: CodeData = Field(description="The badge just scanned")
    images: list[Base64Image] = Field(min_length=3, max_length=5)


class KioskVerifyRequest(StrictInput):
    check_id: uuid.UUID = Field(description="The flagged check the scan answered with")
    code_data: CodeData
    image: Base64Image


class EnrollRead(BaseModel):
    user_id: uuid.UUID
    enrolled_at: datetime
    images_used: int


class CheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    kiosk_id: uuid.UUID | None
    record_id: uuid.UUID | None
    outcome: Literal["match", "mismatch", "unavailable", "no_image"]
    distance: float | None
    threshold: float | None
    attempts: int
    checked_at: datetime
    review_status: Literal["pending", "resolved"] | None
    employee_name: str | None = Field(default=None, description="Set in lists")

    @classmethod
    def of(cls, check: object, employee_name: str) -> CheckRead:
        return cls.model_validate(check).model_copy(update={"employee_name": employee_name})


class PolicyRead(BaseModel):
    location_ids: list[uuid.UUID]
    department_ids: list[uuid.UUID]


class PolicyUpdate(StrictInput):
    location_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    department_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
