from tests.permissions.rules import ADMIN_ONLY, HR_UP, KIOSK_ONLY, PUBLIC

RULES = {
    ("GET", "/api/v1/kiosks/me"): KIOSK_ONLY,
    ("POST", "/api/v1/kiosks/pair"): PUBLIC,
    ("GET", "/api/v1/kiosks"): HR_UP,
    ("POST", "/api/v1/kiosks"): HR_UP,
    ("GET", "/api/v1/kiosks/{kiosk_id}"): HR_UP,
    ("PUT", "/api/v1/kiosks/{kiosk_id}"): ADMIN_ONLY,
    ("DELETE", "/api/v1/kiosks/{kiosk_id}"): ADMIN_ONLY,
    ("POST", "/api/v1/kiosks/{kiosk_id}/pairing-code"): HR_UP,
    ("POST", "/api/v1/kiosks/{kiosk_id}/revoke"): ADMIN_ONLY,
}
