from tests.permissions.rules import HR_UP, SUPERVISOR_UP

RULES = {
    ("GET", "/api/v1/shifts"): SUPERVISOR_UP,
    ("POST", "/api/v1/shifts"): HR_UP,
    ("GET", "/api/v1/shifts/{shift_id}"): SUPERVISOR_UP,
    ("PUT", "/api/v1/shifts/{shift_id}"): HR_UP,
    ("DELETE", "/api/v1/shifts/{shift_id}"): HR_UP,
}
