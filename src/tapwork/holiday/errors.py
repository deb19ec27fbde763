from __future__ import annotations

from tapwork.errors import Conflict, InvalidInput, NotFound


class HolidayNotFound(NotFound):
    code = "HOLIDAY_NOT_FOUND"


class HolidayExists(Conflict):
    code = "HOLIDAY_EXISTS"


def invalid_field(field: str, message: str) -> InvalidInput:
    """A 422 in the same shape as a schema validation error, so clients handle one format."""
    return InvalidInput(
        f"Invalid input: {field} ({message})",
        fields=[{"field": field, "message": message, "type": "value_error"}],
    )
