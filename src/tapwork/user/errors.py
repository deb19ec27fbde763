"""Errors of the users domain. Codes are stable: clients switch on them."""

from __future__ import annotations

from typing import Any

from tapwork.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("No such user")


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"

    def __init__(self) -> None:
        super().__init__("A user with this email already exists", field="email")


class EmployeeIdTaken(Conflict):
    code = "EMPLOYEE_ID_TAKEN"

    def __init__(self) -> None:
        super().__init__("A user with this employee_id already exists", field="employee_id")


class RoleEscalation(Forbidden):
    """Granting (or acting on) a role with permissions the actor does not hold."""

    code = "ROLE_ESCALATION"


class CannotChangeSelf(Conflict):
    code = "CANNOT_CHANGE_SELF"


class InvitationNotPending(Conflict):
    code = "INVITATION_NOT_PENDING"


class UnknownReference(InvalidInput):
    """An id in the body that names no department, shift, location or role (422, not 404:
    the resource addressed by the URL exists, the body is what is wrong)."""

    def __init__(self, field: str, what: str) -> None:
        super().__init__(
            f"Invalid input: body.{field}",
            fields=[{"field": f"body.{field}", "message": f"No such {what}", "type": "unknown"}],
        )


class ImportInvalid(AppError):
    status_code = 422
    code = "IMPORT_INVALID"

    def __init__(self, errors: list[dict[str, Any]], *, rows: int) -> None:
        super().__init__(
            f"{len(errors)} problem(s) in the file; nothing was imported",
            errors=errors,
            rows=rows,
        )


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
