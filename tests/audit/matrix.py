from tests.permissions.rules import ADMIN_ONLY

RULES = {
    ("GET", "/api/v1/audit"): ADMIN_ONLY,
    ("GET", "/api/v1/audit/actions"): ADMIN_ONLY,
}
