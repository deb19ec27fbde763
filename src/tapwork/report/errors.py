from __future__ import annotations

from tapwork.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class DepartmentForbidden(Forbidden):
    code = "DEPARTMENT_FORBIDDEN"


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"


class RangeTooLong(InvalidInput):
    """A range that is reversed or longer than a report may cover."""

    code = "INVALID_RANGE"


class FormatNotAvailable(InvalidInput):
    code = "FORMAT_NOT_AVAILABLE"


class ScheduleNotFound(NotFound):
    """A schedule that does not exist or that the caller may not see (no enumeration)."""

    code = "SCHEDULE_NOT_FOUND"


class RecipientNotAllowed(InvalidInput):
    """A recipient who cannot receive this report: unknown, inactive, without a reports
    permission, or not allowed to see what its filters ask for."""

    code = "RECIPIENT_NOT_ALLOWED"


class ExportNotFound(NotFound):
    """An export that does not exist or is someone else's (no enumeration)."""

    code = "EXPORT_NOT_FOUND"


class ExportNotReady(Conflict):
    """The export is still queued or running (or it failed: see its `error_code`)."""

    code = "EXPORT_NOT_READY"


class ExportExpired(AppError):
    """The export's file was kept `REPORT_EXPORT_TTL_HOURS` and is gone."""

    status_code = 410
    code = "EXPORT_EXPIRED"
