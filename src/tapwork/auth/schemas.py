from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tapwork.kit.types import Email, EmployeeId, Name, Password, StrictInput, Token


class RegisterIn(StrictInput):
    email: Email
    password: Password
    first_name: Name
    last_name: Name
    employee_id: EmployeeId
    department_id: uuid.UUID | None = None
    shift_id: uuid.UUID | None = None
    language: Literal["en", "es"] | None = Field(
        None,
        description="The language of the account's email; by default the best match of the "
        "request's Accept-Language header",
    )


class LoginIn(StrictInput):
    email: Email
    password: Password


class TokenIn(StrictInput):
    token: Token


class RefreshIn(StrictInput):
    refresh_token: Token


class PasswordResetIn(StrictInput):
    email: Email


class PasswordResetConfirmIn(StrictInput):
    token: Token
    new_password: Password


class AcceptInviteIn(StrictInput):
    token: Token
    password: Password


class ChangePasswordIn(StrictInput):
    current_password: Password
    new_password: Password


class SessionUser(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    role: str
    permissions: list[str]


class SessionOut(BaseModel):
    """A signed-in session: send `Authorization: Bearer <access_token>`; trade the
    `refresh_token` at /auth/refresh for a new pair before `expires_in` seconds pass."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str
    user: SessionUser


class Accepted(BaseModel):
    message: str


class Verified(BaseModel):
    message: str


class InvitationOut(BaseModel):
    """Whose account an invitation opens, so the person knows before choosing a password."""

    first_name: str
    full_name: str
    email: str
