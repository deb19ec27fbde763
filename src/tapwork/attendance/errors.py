"""Scan and attendance errors. Codes are stable: the Scanner App keys its feedback on them."""

from __future__ import annotations

from tapwork.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class UserInactive(Forbidden):
    """The badge is fine but its holder may not scan (deactivated or email unverified)."""

    code = "USER_INACTIVE"


class DuplicateScan(Conflict):
    """The same badge again within the debounce window (or a lost race with that scan)."""

    code = "DUPLICATE_SCAN"


class RestPeriod(Conflict):
    """A check-in too soon after the last check-out; `details.available_at` says when."""

    code = "REST_PERIOD"


class ScanIdReused(InvalidInput):
    """The kiosk sent a scan id it already used, with a different payload."""

    code = "SCAN_ID_REUSED"


class RecordNotFound(NotFound):
    code = "ATTENDANCE_NOT_FOUND"


class ScanNotFound(NotFound):
    code = "SCAN_NOT_FOUND"


class NotPending(Conflict):
    """The held scan was already approved or rejected."""

    code = "SCAN_NOT_PENDING"


class OpenRecordExists(Conflict):
    """The user already has an open record: close it before opening another."""

    code = "OPEN_RECORD_EXISTS"


class InvalidTimes(InvalidInput):
    """check_out_at before check_in_at, or times too far in the future."""

    code = "INVALID_ATTENDANCE_TIMES"


class DepartmentForbidden(Forbidden):
    """A supervisor asked for a department they do not manage."""

    code = "DEPARTMENT_FORBIDDEN"


class ApplyRejected(AppError):
    """Approving a held scan ran into the scan rules (rest period, duplicate...)."""

    status_code = 409
    code = "SCAN_NOT_APPLICABLE"
