from tests.permissions.rules import ADMIN_ONLY, HR_UP

RULES = {
    ("GET", "/api/v1/roles"): HR_UP,
    ("GET", "/api/v1/roles/permissions"): HR_UP,
    ("POST", "/api/v1/roles"): ADMIN_ONLY,
    ("GET", "/api/v1/roles/{role_id}"): HR_UP,
    ("PUT", "/api/v1/roles/{role_id}"): ADMIN_ONLY,
    ("DELETE", "/api/v1/roles/{role_id}"): ADMIN_ONLY,
}
