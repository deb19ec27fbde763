"""Bounded input types shared by every schema.

Every string a client sends has a maximum length that matches its column, and NUL bytes are
refused (PostgreSQL cannot store them in text), so bad input is a 422 naming the field rather
than a database error.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)


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
    `tests/permissions/test_bad_input.py` fails for a body model that does not inherit this."""

    model_config = ConfigDict(extra="forbid")


# Dates and instants a client sends must lie in this window. Beyond it the arithmetic done on them
# (a 30-day default range, a time zone conversion, a year-1 record) overflows or stores nonsense;
# no attendance, holiday or badge date outside it is meaningful.
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)
MIN_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2101, 1, 1, tzinfo=UTC)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_date_only(value: Any) -> Any:
    # Pydantic would read `0` or `1700000000` as a Unix timestamp (1970-01-01, ...): a client that
    # sends a number meant something else, so only ISO 8601 text (or a date object) is accepted.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    if not isinstance(value, str | date):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


def _iso_instant_only(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_INSTANT.match(value):
        raise ValueError("must be an ISO 8601 date-time with a time zone")
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time with a time zone")
    return value


def _date_in_bounds(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"must be between {MIN_DATE} and {MAX_DATE}")
    return value


def _instant_in_bounds(value: datetime) -> datetime:
    if not MIN_INSTANT <= value < MAX_INSTANT:
        raise ValueError(f"must be between {MIN_INSTANT.isoformat()} and {MAX_INSTANT.isoformat()}")
    return value


Day = Annotated[
    date,
    BeforeValidator(_iso_date_only),
    AfterValidator(_date_in_bounds),
]
"""A calendar date (YYYY-MM-DD) between MIN_DATE and MAX_DATE: every date a client sends."""

Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_instant_only),
    AfterValidator(_instant_in_bounds),
]
"""A time-zone-aware ISO 8601 date-time between MIN_INSTANT and MAX_INSTANT."""
