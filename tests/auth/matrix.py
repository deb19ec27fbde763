from tests.permissions.rules import PUBLIC, SIGNED_IN, Rules

RULES: Rules = {
    ("POST", "/api/v1/auth/register"): PUBLIC,
    ("POST", "/api/v1/auth/verify-email"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/refresh"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): PUBLIC,
    ("POST", "/api/v1/auth/password-reset"): PUBLIC,
    ("POST", "/api/v1/auth/password-reset/confirm"): PUBLIC,
    ("POST", "/api/v1/auth/accept-invite"): PUBLIC,
    ("POST", "/api/v1/auth/invitation"): PUBLIC,
    ("POST", "/api/v1/auth/change-password"): SIGNED_IN,
}
