from __future__ import annotations

from tests.permissions.rules import ADMIN_ONLY, HR_UP, Rules

RULES: Rules = {
    ("GET", "/api/v1/notifications"): HR_UP,
    ("POST", "/api/v1/notifications/{notification_id}/retry"): ADMIN_ONLY,
}
