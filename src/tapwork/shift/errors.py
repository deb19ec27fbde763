from __future__ import annotations

from tapwork.errors import Conflict, InvalidInput, NotFound


class ShiftNotFound(NotFound):
    code = "SHIFT_NOT_FOUND"


class ShiftNameTaken(Conflict):
    code = "SHIFT_NAME_TAKEN"


class ShiftInUse(Conflict):
    code = "SHIFT_IN_USE"


class EmptyShift(InvalidInput):
    """Same shape as a schema validation error, so clients handle one format."""

    def __init__(self) -> None:
        message = "end_time must differ from start_time (end before start crosses midnight)"
        super().__init__(
            f"Invalid input: body.end_time ({message})",
            fields=[{"field": "body.end_time", "message": message, "type": "value_error"}],
        )
