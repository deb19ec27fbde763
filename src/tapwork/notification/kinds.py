"""The kinds of email TAPWORK sends. Security mail cannot be opted out of."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    EMAIL_VERIFICATION = "email_verification"
    WELCOME = "welcome"
    INVITATION = "invitation"
    ACCOUNT_EXISTS = "account_exists"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    ATTENDANCE_CONFIRMATION = "attendance_confirmation"
    LATE_ALERT = "late_alert"
    MISSING_CLOCKOUT = "missing_clockout"
    CORRECTION_NOTICE = "correction_notice"
    WEEKLY_SUMMARY = "weekly_summary"
    SCHEDULED_REPORT = "scheduled_report"
    ADMIN_ALERT = "admin_alert"


SECURITY_KINDS: frozenset[Kind] = frozenset(
    {
        Kind.EMAIL_VERIFICATION,
        Kind.INVITATION,
        Kind.ACCOUNT_EXISTS,
        Kind.PASSWORD_RESET,
        Kind.PASSWORD_CHANGED,
        Kind.ADMIN_ALERT,
    }
)
OPTIONAL_KINDS: frozenset[Kind] = frozenset(Kind) - SECURITY_KINDS
