"""Kiosk errors with stable codes (the Scanner App shows a re-pair screen on the 401s)."""

from __future__ import annotations

from typing import Any

from tapwork.errors import AppError, Conflict, Forbidden, NotFound, Unauthorized


class KioskUnauthorized(Unauthorized):
    code = "KIOSK_UNAUTHORIZED"

    def __init__(self, message: str = "A valid kiosk token is required", **details: Any) -> None:
        super().__init__(message, **details)
        self.headers = {"WWW-Authenticate": 'KioskToken header="X-Kiosk-Token"'}


class KioskRevoked(KioskUnauthorized):
    code = "KIOSK_REVOKED"

    def __init__(self, message: str = "This kiosk has been revoked", **details: Any) -> None:
        super().__init__(message, **details)


class PairingCodeInvalid(AppError):
    status_code = 400
    code = "PAIRING_CODE_INVALID"


class PairingCodeExpired(AppError):
    status_code = 400
    code = "PAIRING_CODE_EXPIRED"


class RevokedKioskNeedsAdmin(Forbidden):
    code = "KIOSK_REVOKED_NEEDS_ADMIN"


class KioskNotFound(NotFound):
    code = "KIOSK_NOT_FOUND"


class KioskHasScans(Conflict):
    code = "KIOSK_IN_USE"
