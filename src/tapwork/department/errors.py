from __future__ import annotations

from tapwork.errors import Conflict, InvalidInput, NotFound


class DepartmentNotFound(NotFound):
    code = "DEPARTMENT_NOT_FOUND"


class DepartmentNameTaken(Conflict):
    code = "DEPARTMENT_NAME_TAKEN"


class DepartmentInUse(Conflict):
    code = "DEPARTMENT_IN_USE"


class InvalidManager(InvalidInput):
    """Same shape as a schema validation error, so clients handle one format."""

    def __init__(self) -> None:
        message = "manager_id must be an existing, active user"
        super().__init__(
            f"Invalid input: body.manager_id ({message})",
            fields=[{"field": "body.manager_id", "message": message, "type": "value_error"}],
        )
