"""Badge rejections. Codes are stable: kiosks and the scan log key on them."""

from __future__ import annotations

from typing import Any

from tapwork.errors import AppError, Conflict, NotFound


class BadgeError(AppError):
    status_code = 403
    code = "BADGE_ERROR"
    default_message = "This badge cannot be used"

    def __init__(self, message: str | None = None, **details: Any):
        super().__init__(message or self.default_message, **details)


class InvalidQrCode(BadgeError):
    """Malformed, forged, altered or unknown code data."""

    status_code = 400
    code = "INVALID_QR_CODE"
    default_message = "Not a valid TAPWORK badge"


class BadgeRevoked(BadgeError):
    code = "BADGE_REVOKED"
    default_message = "This badge has been revoked"


class BadgeExpired(BadgeError):
    code = "BADGE_EXPIRED"
    default_message = "This badge has expired"


class BadgeSuperseded(BadgeError):
    """A revoked badge whose holder has a newer active one (an old printout)."""

    code = "BADGE_SUPERSEDED"
    default_message = "This badge was replaced by a newer one"


class BadgeConflict(Conflict):
    """Two regenerations raced; the database let one win."""

    code = "BADGE_CONFLICT"


class NoActiveBadge(NotFound):
    code = "BADGE_NOT_FOUND"
