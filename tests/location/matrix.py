from tests.permissions.rules import HR_UP, SUPERVISOR_UP

RULES = {
    ("GET", "/api/v1/locations"): SUPERVISOR_UP,
    ("POST", "/api/v1/locations"): HR_UP,
    ("GET", "/api/v1/locations/{location_id}"): SUPERVISOR_UP,
    ("PUT", "/api/v1/locations/{location_id}"): HR_UP,
    ("DELETE", "/api/v1/locations/{location_id}"): HR_UP,
}
