from __future__ import annotations

from tapwork.errors import Conflict, Forbidden, InvalidInput, NotFound


class RoleNotFound(NotFound):
    code = "ROLE_NOT_FOUND"


class RoleNameTaken(Conflict):
    code = "ROLE_NAME_TAKEN"


class SystemRole(Conflict):
    code = "SYSTEM_ROLE"


class RoleInUse(Conflict):
    code = "ROLE_IN_USE"


class PermissionNotHeld(Forbidden):
    code = "PERMISSION_NOT_HELD"


class UnknownPermissions(InvalidInput):
    """Same shape as a schema validation error, plus the unknown strings in `unknown`."""

    def __init__(self, unknown: list[str]) -> None:
        message = "unknown permissions: " + ", ".join(unknown)
        super().__init__(
            f"Invalid input: body.permissions ({message})",
            fields=[{"field": "body.permissions", "message": message, "type": "value_error"}],
            unknown=unknown,
        )
