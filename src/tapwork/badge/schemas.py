from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tapwork.kit.types import Instant, StrictInput

BadgeFormat = Literal["png", "svg", "code128.png", "code128.svg", "json"]


class BadgeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    code_data: str = Field(description="what the QR and Code128 encode; scan it at a kiosk")
    kid: str = Field(description="signing key id")
    issued_at: datetime
    expires_at: datetime | None = Field(description="null: does not expire")


class RegenerateRequest(StrictInput):
    expires_at: Instant | None = Field(
        None, description="expiry of the new badge; default from BADGE_VALID_DAYS (0 = never)"
    )
