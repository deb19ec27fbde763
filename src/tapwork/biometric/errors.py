from __future__ import annotations

from tapwork.errors import AppError, Conflict, InvalidInput, NotFound


class BiometricsDisabled(Conflict):
    code = "BIOMETRICS_DISABLED"


class ConsentRequired(Conflict):
    code = "BIOMETRIC_CONSENT_REQUIRED"


class ConsentExists(Conflict):
    code = "BIOMETRIC_CONSENT_EXISTS"


class NoticeOutdated(InvalidInput):
    code = "BIOMETRIC_NOTICE_OUTDATED"


class AlreadyEnrolled(Conflict):
    code = "BIOMETRIC_ALREADY_ENROLLED"


class NotEnrolled(NotFound):
    code = "BIOMETRIC_NOT_ENROLLED"


class CheckNotFound(NotFound):
    code = "BIOMETRIC_CHECK_NOT_FOUND"


class FaceNotFound(InvalidInput):
    code = "FACE_NOT_FOUND"


class InvalidImage(InvalidInput):
    code = "INVALID_IMAGE"


class TemplateUnreadable(AppError):
    status_code = 500
    code = "BIOMETRIC_TEMPLATE_UNREADABLE"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "BIOMETRIC_SERVICE_UNAVAILABLE"
