from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from tapwork.kit.types import Description, StrictInput, no_nul

RoleName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(no_nul),
]
PermissionName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(no_nul),
]
Permissions = Annotated[
    list[PermissionName],
    Field(max_length=200, description="permission strings from GET /roles/permissions"),
]


class RoleCreate(StrictInput):
    name: RoleName
    description: Description = ""
    permissions: Permissions = Field(default_factory=list)


class RoleUpdate(StrictInput):
    """Only the fields sent change; null means unchanged. `permissions` replaces the set."""

    name: RoleName | None = None
    description: Description | None = None
    permissions: Permissions | None = None


class RoleRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    permissions: list[str]
    is_system: bool = Field(description="seeded role: cannot be edited, renamed or deleted")
    user_count: int
    created_at: datetime
    updated_at: datetime


class PermissionRead(BaseModel):
    name: str
    description: str
