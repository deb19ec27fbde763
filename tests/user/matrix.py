from __future__ import annotations

from tests.permissions.rules import ADMIN_ONLY, HR_UP, SIGNED_IN, SUPERVISOR_UP, Rules

RULES: Rules = {
    ("GET", "/api/v1/users/me"): SIGNED_IN,
    ("PUT", "/api/v1/users/me"): SIGNED_IN,
    ("GET", "/api/v1/users"): SUPERVISOR_UP,
    ("POST", "/api/v1/users"): HR_UP,
    ("POST", "/api/v1/users/import"): HR_UP,
    ("GET", "/api/v1/users/{user_id}"): SUPERVISOR_UP,
    ("PUT", "/api/v1/users/{user_id}"): HR_UP,
    ("DELETE", "/api/v1/users/{user_id}"): ADMIN_ONLY,
    ("POST", "/api/v1/users/{user_id}/resend-invite"): HR_UP,
}
