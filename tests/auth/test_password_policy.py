from __future__ import annotations

import pytest

from tapwork.auth.password import check, problem
from tapwork.config import Settings
from tapwork.errors import InvalidInput


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short", "at least 12 characters long (this one has 5)"),
        ("x" * 129, "at most 128 characters long (this one has 129)"),
        ("            ", "must not be only spaces"),
        ("Password1234", "one of the most common passwords"),
        ("QWERTY123456", "one of the most common passwords"),
        ("someone.long@example.com", "must not be your email address"),
        ("SOMEONE.LONG", "must not be your email address"),
    ],
)
def test_policy_says_what_is_wrong(password: str, expected: str) -> None:
    message = problem(password, email="someone.long@example.com", settings=Settings())
    assert message is not None
    assert expected in message


@pytest.mark.parametrize(
    "password",
    ["twelve chars", "a long pass phrase with spaces", "ñandú-ünïcode-päss", "x" * 128],
)
def test_long_enough_passwords_pass_without_composition_rules(password: str) -> None:
    assert problem(password, email="someone@example.com", settings=Settings()) is None


def test_minimum_comes_from_settings() -> None:
    settings = Settings(password_min_length=20)
    assert problem("nineteen characters", email=None, settings=settings) is not None
    assert problem("twenty characters ok", email=None, settings=settings) is None


def test_check_names_the_field() -> None:
    with pytest.raises(InvalidInput) as raised:
        check("short", email=None, settings=Settings(), field="new_password")
    [field] = raised.value.details["fields"]
    assert field["field"] == "body.new_password"
    assert field["message"].startswith("Password must be at least")
