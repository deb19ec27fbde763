from tests.permissions.rules import HR_UP, SUPERVISOR_UP

RULES = {
    ("GET", "/api/v1/holidays"): SUPERVISOR_UP,
    ("POST", "/api/v1/holidays"): HR_UP,
    ("GET", "/api/v1/holidays/{holiday_id}"): SUPERVISOR_UP,
    ("PUT", "/api/v1/holidays/{holiday_id}"): HR_UP,
    ("DELETE", "/api/v1/holidays/{holiday_id}"): HR_UP,
}
