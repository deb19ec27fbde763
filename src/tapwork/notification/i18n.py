"""The languages mail is written in: gettext catalogues, and dates and numbers per language.

Templates mark their text with `{% trans %}` / `_()` (Jinja2's i18n extension); the Spanish
catalogue is `locale/es/LC_MESSAGES/messages.po`, read once per process with Babel (no compiled
`.mo` to keep in step). English is the source language: its "catalogue" is the msgids.
Refresh the catalogue after changing a template:

    cd src/tapwork/notification
    uv run pybabel extract -F babel.cfg -k N_ --no-location -o /tmp/messages.pot .
    uv run pybabel update -i /tmp/messages.pot -d locale --no-fuzzy-matching --no-wrap

`tests/notification/test_languages.py` fails on a string missing from the catalogue or left
outside the markers.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LANGUAGES: Final = ("en", "es")
DEFAULT_LANGUAGE: Final = "en"
LANGUAGE_NAMES: Final = {"en": "English", "es": "Español"}
LOCALE_DIR = Path(__file__).parent / "locale"

# The same shape in both languages, month names from the locale: `2 Mar 2026, 08:05` and
# `2 mar 2026, 08:05`.
_DATETIME = "d MMM y, HH:mm"
_DATE = "d MMM y"


def supported(language: str | None) -> str:
    """`language` if we write mail in it, else the default."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def from_accept_language(header: str | None) -> str:
    """The best supported language of an `Accept-Language` header (RFC 9110 12.5.4).

    `es-ES,es;q=0.9,en;q=0.8` → `es`; unknown, malformed or absent → the default.
    """
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for position, item in enumerate((header or "").split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        # Equal weights keep the header's order: the earlier entry wins.
        score = quality - position * 1e-6
        if primary in LANGUAGES and quality > 0 and score > best_q:
            best, best_q = primary, score
    return best


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def when(value: Any, language: str) -> str:
    """An ISO 8601 timestamp or local `YYYY-MM-DD HH:MM` as `2 Mar 2026, 08:05` (a zone
    suffix when it has one), a bare date as `2 Mar 2026`; anything else as given (callers
    may send pre-formatted times)."""
    text = str(value)
    if len(text) < 10:
        return text
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if len(text) == 10:
        return format_date(parsed.date(), _DATE, locale=language)
    shown = format_datetime(parsed.replace(tzinfo=None), _DATETIME, locale=language)
    offset = parsed.utcoffset()
    if offset is None:
        return shown
    return f"{shown} UTC" if offset == timedelta(0) else f"{shown} {parsed.strftime('%z')}"


def day(value: date, language: str) -> str:
    return format_date(value, _DATE, locale=language)


def number(value: Any, language: str) -> str:
    """Integers and decimals with the language's separators; anything else as given."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return format_decimal(value, locale=language)


def N_(message: str) -> str:
    """Marks a message for the catalogue (extracted by Babel); translated where it is shown."""
    return message


HOURS_MINUTES = N_("%(hours)s h %(minutes)s min")
MINUTES = N_("%(minutes)s min")


def duration(minutes: int, gettext: Callable[[str], str] = str) -> str:
    """`65` → `1 h 05 min` through `gettext` (the reader's catalogue)."""
    hours, rest = divmod(abs(minutes), 60)
    sign = "-" if minutes < 0 else ""
    if hours:
        return sign + str(gettext(HOURS_MINUTES)) % {"hours": hours, "minutes": f"{rest:02d}"}
    return sign + str(gettext(MINUTES)) % {"minutes": rest}


def when_in(instant: datetime, zone: str, language: str) -> str:
    """An instant on `zone`'s wall clock, the zone named: `2 mar 2026, 08:05 (Europe/Madrid)`."""
    local = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return f"{format_datetime(local, _DATETIME, locale=language)} ({zone})"
