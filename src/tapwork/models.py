"""Imports every model so `Base.metadata` is complete (Alembic, tests)."""

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.audit.models import AuditLog
from tapwork.auth.models import ActionToken, RefreshToken
from tapwork.auth.throttle import LoginFailure
from tapwork.badge.models import Badge, BadgeKey
from tapwork.biometric.models import (
    BiometricCheck,
    BiometricConsent,
    BiometricRequirement,
    BiometricTemplate,
)
from tapwork.db import Base
from tapwork.department.models import Department
from tapwork.holiday.models import Holiday
from tapwork.kiosk.models import Kiosk
from tapwork.limits import RateLimit
from tapwork.location.models import Location
from tapwork.notification.models import OutboxEmail
from tapwork.report.models import (
    ReportExport,
    ReportExportChunk,
    ReportSchedule,
    ReportScheduleRecipient,
    ReportScheduleRun,
    WeeklySummary,
)
from tapwork.role.models import Role
from tapwork.shift.models import Shift
from tapwork.user.models import User

__all__ = [
    "ActionToken",
    "AttendanceRecord",
    "AuditLog",
    "Badge",
    "BadgeKey",
    "Base",
    "BiometricCheck",
    "BiometricConsent",
    "BiometricRequirement",
    "BiometricTemplate",
    "Department",
    "Holiday",
    "Kiosk",
    "Location",
    "LoginFailure",
    "OutboxEmail",
    "RateLimit",
    "RefreshToken",
    "ReportExport",
    "ReportExportChunk",
    "ReportSchedule",
    "ReportScheduleRecipient",
    "ReportScheduleRun",
    "Role",
    "ScanEvent",
    "Shift",
    "User",
    "WeeklySummary",
]
