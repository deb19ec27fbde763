from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    actor_id: uuid.UUID | None = Field(
        description="null for the system; kept if the user is deleted"
    )
    actor_type: str = Field(
        description="user | kiosk | system | anonymous (a client before it proved who it is)"
    )
    actor_label: str = Field(description="the actor's email (or kiosk name) at the time")
    action: str = Field(examples=["department.update"])
    resource_type: str
    resource_id: str | None
    old_values: dict[str, Any] | None = Field(description="changed fields before; secrets left out")
    new_values: dict[str, Any] | None = Field(description="changed fields after; secrets left out")
    ip: str | None
    request_id: str | None
