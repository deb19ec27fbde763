"""Errors of sign-up, sign-in and sessions. Codes are stable: clients branch on them."""

from __future__ import annotations

import uuid

from tapwork.errors import AppError, Conflict, Forbidden, InvalidInput, Unauthorized


class RegistrationDisabled(Forbidden):
    code = "REGISTRATION_DISABLED"


class InvalidCredentials(Unauthorized):
    """Wrong email and wrong password are the same error, so it reveals no account."""

    code = "INVALID_CREDENTIALS"


class EmailNotVerified(Forbidden):
    code = "EMAIL_NOT_VERIFIED"


class AccountDisabled(Forbidden):
    code = "ACCOUNT_DISABLED"


class InvalidRefreshToken(Unauthorized):
    code = "INVALID_REFRESH_TOKEN"


class RefreshTokenReused(Unauthorized):
    code = "REFRESH_TOKEN_REUSED"

    def __init__(self, message: str, *, user_id: uuid.UUID, family_id: uuid.UUID) -> None:
        super().__init__(message)
        # Kept off `details`: the client learns only that its sign-in ended.
        self.user_id, self.family_id = user_id, family_id


class InvalidToken(AppError):
    """An emailed token that is unknown, used, expired or for another purpose."""

    status_code = 400
    code = "INVALID_TOKEN"


class EmployeeIdTaken(Conflict):
    code = "EMPLOYEE_ID_TAKEN"

    def __init__(self) -> None:
        super().__init__("employee_id is already in use", field="employee_id")


def field_error(field: str, message: str) -> InvalidInput:
    """A 422 in the same shape as schema validation errors, naming `body.<field>`."""
    return InvalidInput(
        f"Invalid input: body.{field} ({message})",
        fields=[{"field": f"body.{field}", "message": message, "type": "value_error"}],
    )
