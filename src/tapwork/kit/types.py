"""Bounded input types shared by every schema.

Every string a client sends has a maximum length that matches its column, and NUL bytes are
refused (PostgreSQL cannot store them in text), so bad input is a 422 naming the field rather
than a database error.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL bytes")
    return value


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[EmailStr, Field(max_length=320), AfterValidator(no_nul), AfterValidator(_lower)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(no_nul),
]
Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    AfterValidator(no_nul),
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(no_nul)
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=500),
    AfterValidator(no_nul),
]
EmployeeId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$"
    ),
]
Search = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(no_nul),
]
Password = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(no_nul)]
Token = Annotated[
    str, StringConstraints(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_\-.]+$")
]


class StrictInput(BaseModel):
    """Base of every request body: an unknown key is a 422 naming it, never silently dropped
    (a typo like `grace_period_minutes` would otherwise create a record with the default).
    `tests/core/test_strict_bodies.py` fails for a body model that does not inherit this."""

    model_config = ConfigDict(extra="forbid")
