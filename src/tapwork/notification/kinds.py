"""The kinds of email TAPWORK sends. Security mail cannot be opted out of."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


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


def wants(preferences: Mapping[str, Any] | None, kind: Kind) -> bool:
    """Whether a user with these notification preferences receives `kind`: security mail
    always, the rest unless opted out (the one opt-out rule: the outbox and the scan's
    hand-written WRITE both ask it)."""
    if kind in SECURITY_KINDS:
        return True
    return bool((preferences or {}).get(kind.value, True))
