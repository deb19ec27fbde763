from __future__ import annotations

from tests.permissions.rules import ADMIN_ONLY, HR_UP, PUBLIC, Rules

RULES: Rules = {
    ("GET", "/api/v1/notifications"): HR_UP,
    ("POST", "/api/v1/notifications/{notification_id}/retry"): ADMIN_ONLY,
}
# The signed link is the credential (a forged one is a 404, tests/notification/test_unsubscribe.py).
RULES[("GET", "/api/v1/notifications/unsubscribe")] = PUBLIC
RULES[("POST", "/api/v1/notifications/unsubscribe")] = PUBLIC
RULES[("GET", "/api/v1/notifications/settings")] = ADMIN_ONLY
RULES[("PUT", "/api/v1/notifications/settings")] = ADMIN_ONLY
RULES[("GET", "/api/v1/notifications/incidents")] = ADMIN_ONLY
RULES[("POST", "/api/v1/notifications/retry")] = ADMIN_ONLY
