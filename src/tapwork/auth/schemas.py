from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tapwork.kit.types import Email, EmployeeId, Name, Password, Token


class RegisterIn(BaseModel):
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


class LoginIn(BaseModel):
    email: Email
    password: Password


class TokenIn(BaseModel):
    token: Token


class RefreshIn(BaseModel):
    refresh_token: Token


class PasswordResetIn(BaseModel):
    email: Email


class PasswordResetConfirmIn(BaseModel):
    token: Token
    new_password: Password


class AcceptInviteIn(BaseModel):
    token: Token
    password: Password


class ChangePasswordIn(BaseModel):
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
