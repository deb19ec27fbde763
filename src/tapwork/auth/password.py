"""The password policy: length first, then a short list of passwords attackers try first.

Length is what makes a password strong, so the rule is a minimum (and a maximum that keeps
argon2 input bounded) and no composition rules. Each message says exactly what is wrong, in
the shape of a validation error, so clients show it next to the field.
"""

from __future__ import annotations

import unicodedata

from tapwork.config import Settings
from tapwork.errors import InvalidInput

# Only entries at least as long as the default minimum matter: shorter ones fail on length.
# Lower-case; compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123123123123",
        "111111111111",
        "000000000000",
        "qwertyuiopas",
        "qwertyuiop123",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "welcome123456",
        "administrator",
        "admin1234567",
        "changeme1234",
        "trustno1trustno1",
        "football1234",
        "baseball1234",
        "monkey123456",
        "sunshine1234",
        "princess1234",
        "abc123abc123",
        "abcdefghijkl",
        "aaaaaaaaaaaa",
        "tapworktapwork",
        "tapwork12345",
    }
)


def normalise(password: str) -> str:
    """NFC, so the same password typed on two keyboards hashes the same."""
    return unicodedata.normalize("NFC", password)


def problem(password: str, *, email: str | None, settings: Settings) -> str | None:
    """What is wrong with `password`, or None when it passes the policy."""
    length = len(password)
    if length < settings.password_min_length:
        return (
            f"must be at least {settings.password_min_length} characters long "
            f"(this one has {length})"
        )
    if length > settings.password_max_length:
        return (
            f"must be at most {settings.password_max_length} characters long "
            f"(this one has {length})"
        )
    if not password.strip():
        return "must not be only spaces"
    folded = password.casefold()
    if folded in COMMON_PASSWORDS:
        return "is one of the most common passwords; choose a less predictable one"
    if email:
        address = email.casefold()
        if folded in (address, address.partition("@")[0]):
            return "must not be your email address"
    return None


def check(password: str, *, email: str | None, settings: Settings, field: str) -> None:
    """Raise a 422 naming `field` (e.g. "password", "new_password") when the policy fails."""
    message = problem(password, email=email, settings=settings)
    if message is None:
        return
    raise InvalidInput(
        f"Invalid input: body.{field} ({message})",
        fields=[{"field": f"body.{field}", "message": f"Password {message}", "type": "password"}],
    )
