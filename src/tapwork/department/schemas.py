from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from tapwork.kit.types import Description, Label, StrictInput


class DepartmentCreate(StrictInput):
    name: Label
    description: Description = ""
    manager_id: uuid.UUID | None = None


class DepartmentUpdate(StrictInput):
    """Only the fields sent change. `manager_id: null` removes the manager; null elsewhere
    means unchanged."""

    name: Label | None = None
    description: Description | None = None
    manager_id: uuid.UUID | None = None


class DepartmentRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    manager_id: uuid.UUID | None
    manager_name: str | None
    member_count: int
    created_at: datetime
    updated_at: datetime
