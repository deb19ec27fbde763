from tests.permissions.rules import HR_UP, SUPERVISOR_UP

RULES = {
    ("GET", "/api/v1/departments"): SUPERVISOR_UP,
    ("POST", "/api/v1/departments"): HR_UP,
    ("GET", "/api/v1/departments/{department_id}"): SUPERVISOR_UP,
    ("PUT", "/api/v1/departments/{department_id}"): HR_UP,
    ("DELETE", "/api/v1/departments/{department_id}"): HR_UP,
}
