from tests.permissions.rules import ADMIN_ONLY, HR_UP, KIOSK_ONLY, SIGNED_IN

RULES = {
    ("GET", "/api/v1/biometric/notice"): SIGNED_IN,
    ("GET", "/api/v1/biometric/me"): SIGNED_IN,
    ("POST", "/api/v1/biometric/me/consent"): SIGNED_IN,
    ("DELETE", "/api/v1/biometric/me/consent"): SIGNED_IN,
    ("GET", "/api/v1/biometric/users/{user_id}"): HR_UP,
    ("DELETE", "/api/v1/biometric/users/{user_id}/template"): HR_UP,
    ("POST", "/api/v1/biometric/enroll"): HR_UP,
    ("GET", "/api/v1/biometric/kiosk/config"): KIOSK_ONLY,
    ("POST", "/api/v1/biometric/kiosk/enroll"): KIOSK_ONLY,
    ("POST", "/api/v1/biometric/kiosk/verify"): KIOSK_ONLY,
    ("GET", "/api/v1/biometric/checks"): HR_UP,
    ("POST", "/api/v1/biometric/checks/{check_id}/resolve"): HR_UP,
    ("GET", "/api/v1/biometric/policy"): ADMIN_ONLY,
    ("PUT", "/api/v1/biometric/policy"): ADMIN_ONLY,
}
