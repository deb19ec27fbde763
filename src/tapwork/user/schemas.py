"""Request and response bodies of /api/v1/users."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, WithJsonSchema, field_validator

from tapwork.kit.types import Email, EmployeeId, Name, StrictInput
from tapwork.notification.kinds import OPTIONAL_KINDS, SECURITY_KINDS, Kind
from tapwork.user.models import User

_KIND_VALUES = {k.value for k in Kind}
_SECURITY_VALUES = {k.value for k in SECURITY_KINDS}
NotificationPreferences = Annotated[
    dict[Annotated[str, Field(max_length=64)], bool],
    Field(
        max_length=len(Kind),
        description="Email kind → wanted. Optional kinds: "
        + ", ".join(sorted(k.value for k in OPTIONAL_KINDS))
        + ". Security mail cannot be turned off.",
    ),
]


Language = Annotated[
    Literal["en", "es"], Field(description="The language of the user's email: en or es")
]


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    employee_id: str
    first_name: str
    last_name: str
    full_name: str
    role: str
    role_id: uuid.UUID
    department_id: uuid.UUID | None
    shift_id: uuid.UUID | None
    location_id: uuid.UUID | None
    is_active: bool
    email_verified_at: datetime | None
    invitation_pending: bool = Field(description="Invited and has not set a password yet")
    notification_preferences: dict[str, bool]
    language: Language
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(
            id=user.id,
            email=user.email,
            employee_id=user.employee_id,
            first_name=user.first_name,
            last_name=user.last_name,
            full_name=user.full_name,
            role=user.role.name,
            role_id=user.role_id,
            department_id=user.department_id,
            shift_id=user.shift_id,
            location_id=user.location_id,
            is_active=user.is_active,
            email_verified_at=user.email_verified_at,
            invitation_pending=user.password_hash is None,
            notification_preferences={
                k: bool(v) for k, v in (user.notification_preferences or {}).items()
            },
            language=user.language,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class MyDepartment(BaseModel):
    id: uuid.UUID
    name: str


# A local wall-clock time, sent as "HH:MM:SS". Not OpenAPI's `format: time`: that is RFC 3339's
# full-time, which needs a UTC offset a shift's local time does not have.
WallTime = Annotated[
    time,
    WithJsonSchema({"type": "string", "pattern": r"^\d\d:\d\d:\d\d$", "examples": ["09:00:00"]}),
]


class MyShift(BaseModel):
    id: uuid.UUID
    name: str
    start_time: WallTime
    end_time: WallTime
    grace_minutes: int
    working_days: list[int] = Field(description="ISO weekdays, 1 = Monday")


class MyLocation(BaseModel):
    id: uuid.UUID
    name: str
    timezone: str


class MeRead(UserRead):
    permissions: list[str]
    # Names and hours, not only ids: an employee may not read /departments, /shifts or
    # /locations, yet needs to know which shift they are held to and where.
    department: MyDepartment | None = None
    shift: MyShift | None = None
    location: MyLocation | None = None

    @classmethod
    def of(cls, user: User, placement: tuple[Any, Any, Any] = (None, None, None)) -> MeRead:
        base = UserRead.of(user).model_dump()
        department, shift, location = placement
        return cls(
            **base,
            permissions=sorted(user.permissions),
            department=MyDepartment.model_validate(department, from_attributes=True)
            if department
            else None,
            shift=MyShift.model_validate(shift, from_attributes=True) if shift else None,
            location=MyLocation.model_validate(location, from_attributes=True)
            if location
            else None,
        )


def _check_preferences(value: dict[str, bool] | None) -> dict[str, bool] | None:
    if value is None:
        return None
    unknown = sorted(set(value) - _KIND_VALUES)
    if unknown:
        raise ValueError(f"unknown notification kind(s): {', '.join(unknown)}")
    locked = sorted(k for k, wanted in value.items() if k in _SECURITY_VALUES and not wanted)
    if locked:
        raise ValueError(f"security mail cannot be turned off: {', '.join(locked)}")
    # Security kinds are always on; storing `true` for them would only be noise.
    return {k: v for k, v in value.items() if k not in _SECURITY_VALUES}


class MeUpdate(StrictInput):
    first_name: Name | None = None
    last_name: Name | None = None
    notification_preferences: NotificationPreferences | None = Field(
        None, description="Merged into the stored preferences; kinds not sent are unchanged."
    )
    language: Language | None = None

    _prefs = field_validator("notification_preferences")(_check_preferences)


class UserCreate(StrictInput):
    email: Email
    employee_id: EmployeeId
    first_name: Name
    last_name: Name
    role_id: uuid.UUID | None = Field(None, description="Defaults to the `employee` role")
    department_id: uuid.UUID | None = None
    shift_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    language: Language | None = Field(
        None, description="Of the invitation and every later email; defaults to the inviter's"
    )


class UserUpdate(StrictInput):
    """Only the fields sent change; send `null` to clear department, shift or location."""

    email: Email | None = None
    employee_id: EmployeeId | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    role_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    shift_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    is_active: bool | None = Field(
        None, description="false deactivates: the user's sessions end on their next request"
    )

    def changes(self) -> dict[str, Any]:
        """The fields the client sent. Only nullable references may be cleared with null."""
        sent = self.model_dump(exclude_unset=True)
        clearable = {"department_id", "shift_id", "location_id"}
        return {k: v for k, v in sent.items() if v is not None or k in clearable}


class ImportRowError(BaseModel):
    row: int = Field(description="Row number in the file; the header is row 1")
    field: str
    message: str


class ImportResult(BaseModel):
    created: int
    updated: int
    skipped: int
    errors: list[ImportRowError]


RoleName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00]+$"),
]
