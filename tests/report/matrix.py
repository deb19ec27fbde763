from tests.permissions.rules import SIGNED_IN, SUPERVISOR_UP

RULES = {
    ("GET", "/api/v1/reports/attendance"): SIGNED_IN,
    ("GET", "/api/v1/reports/department-summary"): SUPERVISOR_UP,
    ("GET", "/api/v1/reports/timesheet"): SIGNED_IN,
    ("GET", "/api/v1/reports/monthly-sheet"): SIGNED_IN,
}
RULES[("GET", "/api/v1/reports/dashboard")] = SUPERVISOR_UP
RULES[("GET", "/api/v1/reports/schedules")] = SUPERVISOR_UP
RULES[("POST", "/api/v1/reports/schedules")] = SUPERVISOR_UP
RULES[("GET", "/api/v1/reports/schedules/{schedule_id}")] = SUPERVISOR_UP
RULES[("PATCH", "/api/v1/reports/schedules/{schedule_id}")] = SUPERVISOR_UP
RULES[("DELETE", "/api/v1/reports/schedules/{schedule_id}")] = SUPERVISOR_UP
RULES[("GET", "/api/v1/reports/me")] = SIGNED_IN
# Exports: anyone who may read a report; each export is its owner's alone (404 to others).
RULES[("POST", "/api/v1/reports/exports")] = SIGNED_IN
RULES[("GET", "/api/v1/reports/exports")] = SIGNED_IN
RULES[("GET", "/api/v1/reports/exports/{export_id}")] = SIGNED_IN
RULES[("GET", "/api/v1/reports/exports/{export_id}/file")] = SIGNED_IN
RULES[("DELETE", "/api/v1/reports/exports/{export_id}")] = SIGNED_IN
