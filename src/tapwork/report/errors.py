from __future__ import annotations

from tapwork.errors import Forbidden, InvalidInput, NotFound


class DepartmentForbidden(Forbidden):
    code = "DEPARTMENT_FORBIDDEN"


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"


class RangeTooLong(InvalidInput):
    """A range that is reversed or longer than a report may cover."""

    code = "INVALID_RANGE"


class FormatNotAvailable(InvalidInput):
    code = "FORMAT_NOT_AVAILABLE"
