"""Translations looked up when a template is compiled (render._Baked) give the very mail that
the i18n extension's runtime gettext gives, escaping and placeholders included."""

from __future__ import annotations

from typing import Any

import pytest

from tapwork.config import Settings
from tapwork.notification import i18n
from tapwork.notification.kinds import Kind
from tapwork.notification.render import build_environment, render
from tests.notification.test_render import CONTEXTS, USER

# Markup and numbers in the values a message formats: escaped in HTML, as is in text.
HOSTILE = {
    "first_name": "<b>Ana & Co</b>",
    "employee_name": "O'Brien <script>",
    "location": "R&D <HQ>",
    "at_local": "09:01",
    "status": "late",
    "minutes_late": 65,
    "worked_minutes": 0,
    "subject": "50% <off>",
    "message": "one\n\ntwo & three",
}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", list(Kind))
def test_baked_translations_render_what_runtime_gettext_renders(kind: Kind, language: str) -> None:
    settings = Settings(TAPWORK_ENV="test", public_url="http://portal.test")
    baked = build_environment(language, i18n.translations(language))
    runtime = build_environment(language, i18n.translations(language))
    runtime.bake = None  # type: ignore[attr-defined]
    contexts: list[dict[str, Any]] = [{**USER, **CONTEXTS[kind]}, {}, {**CONTEXTS[kind], **HOSTILE}]
    for context in contexts:
        for leave in ("", "http://portal.test/u?a=1&b=2"):
            got = render(
                kind.value, context, settings=settings, environment=baked, unsubscribe_url=leave
            )
            want = render(
                kind.value, context, settings=settings, environment=runtime, unsubscribe_url=leave
            )
            assert got == want


def test_a_literal_message_is_not_looked_up_at_render_time() -> None:
    class Counting:
        def __init__(self) -> None:
            self.calls = 0

        def gettext(self, message: str) -> str:
            self.calls += 1
            return message

        def ngettext(self, singular: str, plural: str, n: int) -> str:
            return singular if n == 1 else plural

    translations = Counting()
    env = build_environment("en", translations)
    settings = Settings(TAPWORK_ENV="test")
    context = {**USER, **CONTEXTS[Kind.ATTENDANCE_CONFIRMATION]}
    render("attendance_confirmation", context, settings=settings, environment=env)
    compiled = translations.calls
    render("attendance_confirmation", context, settings=settings, environment=env)
    # Only messages chosen at run time (labels, durations) are looked up again.
    assert translations.calls - compiled < 5
