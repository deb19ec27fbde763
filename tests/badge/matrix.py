from tests.permissions.rules import HR_UP, SIGNED_IN

RULES = {
    ("GET", "/api/v1/badges/me"): SIGNED_IN,
    ("POST", "/api/v1/badges/me/regenerate"): SIGNED_IN,
    ("GET", "/api/v1/badges/sheet.pdf"): HR_UP,
    ("GET", "/api/v1/users/{user_id}/badge"): HR_UP,
    ("POST", "/api/v1/users/{user_id}/badge/regenerate"): HR_UP,
    ("POST", "/api/v1/users/{user_id}/badge/revoke"): HR_UP,
}
