from tests.permissions.rules import HR_UP, KIOSK_ONLY, SIGNED_IN, SUPERVISOR_UP

RULES = {
    ("POST", "/api/v1/attendance"): KIOSK_ONLY,
    ("GET", "/api/v1/attendance"): SUPERVISOR_UP,
    ("GET", "/api/v1/attendance/me"): SIGNED_IN,
    ("GET", "/api/v1/attendance/live"): SUPERVISOR_UP,
    ("GET", "/api/v1/attendance/review"): HR_UP,
    ("POST", "/api/v1/attendance/review/{scan_id}/approve"): HR_UP,
    ("POST", "/api/v1/attendance/review/{scan_id}/reject"): HR_UP,
    ("POST", "/api/v1/attendance/corrections"): HR_UP,
    ("GET", "/api/v1/attendance/{record_id}"): SIGNED_IN,
    ("PUT", "/api/v1/attendance/{record_id}"): HR_UP,
}
