"""Every error code the API can answer has a sentence for people in the front ends: the portal's
(`portal.error.<CODE>`) or, for the kiosk's scan errors, the shared one (`error.<CODE>.title`).
A new error class without its translation fails here (the type checker keeps Spanish in step)."""

from __future__ import annotations

import re
from pathlib import Path

from tapwork.errors import AppError
from tapwork.main import create_app

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def _codes() -> set[str]:
    create_app()  # imports every router, so every domain's errors are defined
    found, todo = set(), [AppError]
    while todo:
        cls = todo.pop()
        found.add(cls.code)
        todo.extend(cls.__subclasses__())
    return found


def _keys(path: Path) -> set[str]:
    return set(re.findall(r'^\s*"([^"]+)":', path.read_text(), re.MULTILINE))


def test_every_error_code_has_a_sentence_for_people() -> None:
    portal = _keys(FRONTEND / "portal/src/i18n/errors.en.ts")
    shared = _keys(FRONTEND / "shared/src/i18n/en.ts")
    missing = sorted(
        code
        for code in _codes()
        if f"portal.error.{code}" not in portal and f"error.{code}.title" not in shared
    )
    assert missing == []
