"""Permission strings and the four seeded roles. Endpoints check permissions, never role names."""

from __future__ import annotations

from enum import StrEnum


class P(StrEnum):
    USERS_READ_DEPARTMENT = "users:read_department"
    USERS_READ_ALL = "users:read_all"
    USERS_WRITE = "users:write"
    USERS_DELETE = "users:delete"
    USERS_IMPORT = "users:import"
    DEPARTMENTS_READ = "departments:read"
    DEPARTMENTS_WRITE = "departments:write"
    SHIFTS_READ = "shifts:read"
    SHIFTS_WRITE = "shifts:write"
    LOCATIONS_READ = "locations:read"
    LOCATIONS_WRITE = "locations:write"
    HOLIDAYS_READ = "holidays:read"
    HOLIDAYS_WRITE = "holidays:write"
    ROLES_READ = "roles:read"
    ROLES_WRITE = "roles:write"
    KIOSKS_READ = "kiosks:read"
    KIOSKS_WRITE = "kiosks:write"
    KIOSKS_ENROLL = "kiosks:enroll"
    BADGES_READ_OWN = "badges:read_own"
    BADGES_REGENERATE_OWN = "badges:regenerate_own"
    BADGES_READ_ALL = "badges:read_all"
    BADGES_WRITE = "badges:write"
    ATTENDANCE_READ_OWN = "attendance:read_own"
    ATTENDANCE_READ_DEPARTMENT = "attendance:read_department"
    ATTENDANCE_READ_ALL = "attendance:read_all"
    ATTENDANCE_CORRECT = "attendance:correct"
    ATTENDANCE_REVIEW = "attendance:review"
    REPORTS_READ_DEPARTMENT = "reports:read_department"
    REPORTS_READ_ALL = "reports:read_all"
    AUDIT_READ = "audit:read"
    NOTIFICATIONS_READ = "notifications:read"
    SETTINGS_WRITE = "settings:write"
    BIOMETRIC_MANAGE = "biometric:manage"


ALL_PERMISSIONS: frozenset[str] = frozenset(p.value for p in P)

_EMPLOYEE = {P.BADGES_READ_OWN, P.BADGES_REGENERATE_OWN, P.ATTENDANCE_READ_OWN}
_SUPERVISOR = _EMPLOYEE | {
    P.USERS_READ_DEPARTMENT,
    P.ATTENDANCE_READ_DEPARTMENT,
    P.REPORTS_READ_DEPARTMENT,
    P.DEPARTMENTS_READ,
    P.SHIFTS_READ,
    P.LOCATIONS_READ,
    P.HOLIDAYS_READ,
}
_HR = _SUPERVISOR | {
    P.USERS_READ_ALL,
    P.USERS_WRITE,
    P.USERS_IMPORT,
    P.DEPARTMENTS_WRITE,
    P.SHIFTS_WRITE,
    P.LOCATIONS_WRITE,
    P.HOLIDAYS_WRITE,
    P.ROLES_READ,
    P.KIOSKS_READ,
    P.KIOSKS_ENROLL,
    P.BADGES_READ_ALL,
    P.BADGES_WRITE,
    P.ATTENDANCE_READ_ALL,
    P.ATTENDANCE_CORRECT,
    P.ATTENDANCE_REVIEW,
    P.REPORTS_READ_ALL,
    P.NOTIFICATIONS_READ,
    P.BIOMETRIC_MANAGE,
}

SYSTEM_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "employee": ("Scans at kiosks; sees own badge and history", frozenset(_EMPLOYEE)),
    "supervisor": (
        "Employee + attendance and reports of managed departments",
        frozenset(_SUPERVISOR),
    ),
    "hr_manager": (
        "Supervisor for everyone + people, organisation and corrections",
        frozenset(_HR),
    ),
    "admin": ("Everything, including roles, kiosks, settings and the audit log", ALL_PERMISSIONS),
}
DEFAULT_ROLE = "employee"
