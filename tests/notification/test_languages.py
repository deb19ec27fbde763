"""Every kind in every language: nothing left in English in a Spanish mail, dates and numbers
written the reader's way, and the language picked from the browser at registration."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tapwork.config import Settings
from tapwork.notification import alerts, i18n
from tapwork.notification.kinds import Kind
from tapwork.notification.render import build_environment, render
from tests.notification.test_render import CONTEXTS, USER

PACKAGE = Path(i18n.__file__).parent
PO = PACKAGE / "locale" / "es" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.fixture
def cfg() -> Settings:
    return Settings(TAPWORK_ENV="test", public_url="http://portal.test")


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if value is None:
        return []
    # The whole value, and the paragraphs a message is shown as.
    return [str(value), *(p.strip() for p in re.split(r"\n\s*\n", str(value)))]


class Blank:
    """A 'language' whose every message is empty: whatever text is left was never marked."""

    def gettext(self, message: str) -> str:
        return ""

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return ""


def _leftover(text: str, context: dict[str, Any]) -> str:
    text = re.sub(r"<[^>]*>", " ", text)  # tags and attributes: markup, not prose
    text = re.sub(r"&#?\w+;", " ", text)
    text = re.sub(r"\S+://\S+", " ", text)  # links
    for value in sorted(_strings(context), key=len, reverse=True):
        text = text.replace(value, " ")
    text = text.replace("TAPWORK", " ")
    return " ".join(re.findall(r"[^\W\d_]{2,}", text))


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("full", [True, False], ids=["contract", "empty"])
def test_no_text_is_left_outside_the_catalogue(kind: Kind, full: bool, cfg: Settings) -> None:
    context = {**USER, **CONTEXTS[kind]} if full else {}
    env = build_environment("es", Blank())
    rendered = render(
        kind.value, context, settings=cfg, environment=env, unsubscribe_url="http://u.test/x"
    )
    for part in (rendered.text, rendered.html):
        assert _leftover(part, context) == "", f"untranslated text in {kind.value}"


def test_every_marked_string_has_a_spanish_translation() -> None:
    with PO.open("rb") as po:
        catalogue = read_po(po, locale="es")
    method_map = [("**.py", "python"), ("**/templates/**", "jinja2")]
    options = {"**/templates/**": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    found = {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(PACKAGE), method_map, options, keywords={"_": None, "N_": None, "gettext": None}
        )
        if isinstance(message, str)
    }
    assert len(found) > 100
    missing = sorted(m for m in found if m not in catalogue or not catalogue[m].string)
    assert missing == [], f"not in messages.po: {missing}"
    fuzzy = sorted(m.id for m in catalogue if m.id and m.fuzzy)
    assert fuzzy == []
    for message in catalogue:
        if message.id:
            assert set(PLACEHOLDER.findall(str(message.id))) == set(
                PLACEHOLDER.findall(str(message.string))
            ), message.id


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_reads_in_spanish(kind: Kind, cfg: Settings) -> None:
    context = {**USER, **CONTEXTS[kind]}
    english = render(kind.value, context, settings=cfg, language="en")
    spanish = render(kind.value, context, settings=cfg, language="es")
    assert spanish.text.startswith("Hola, Eve:")
    assert '<html lang="es">' in spanish.html
    assert "Hola, Eve:" in spanish.html
    if "subject" not in CONTEXTS[kind]:  # report and alert subjects come from the caller
        assert spanish.subject != english.subject
    assert "Hello" not in spanish.text


# Every incident code with the params its callers send (notification/alerts.py), and what its
# alert must say in each language: subject, then phrases of the text (numbers and dates written
# the reader's way).
INCIDENTS: dict[str, dict[str, Any]] = {
    alerts.MAIL_UNDELIVERABLE: {
        "address": "lost@example.com",
        "attempts": 1200,
        "error": "smtp 127.0.0.1:25: Connect call failed",
    },
    alerts.JOB_FAILED: {"task": "report.nightly"},
    alerts.KIOSK_SILENT: {
        "kiosk": "Gate 3",
        "location": "Madrid HQ",
        "timezone": "Europe/Madrid",
        "minutes": 75,
        "last_seen_at": "2026-02-27T16:00:00+00:00",
    },
    alerts.BIOMETRIC_DOWN: {"since": "2026-03-02T08:05:00+00:00", "reason": "timeout"},
}
INCIDENT_TEXT: dict[str, dict[str, tuple[str, ...]]] = {
    alerts.MAIL_UNDELIVERABLE: {
        "en": ("Email cannot be delivered", "gave up after 1,200 attempts", "Last error: smtp"),
        "es": ("No se puede entregar el correo", "tras 1.200 intentos", "Último error: smtp"),
    },
    alerts.JOB_FAILED: {
        "en": ("Scheduled job failing: report.nightly", "The latest run of report.nightly"),
        "es": ("Tarea programada fallando: report.nightly", "La última ejecución de report"),
    },
    alerts.KIOSK_SILENT: {
        "en": (
            "Kiosk silent: Gate 3 (Madrid HQ)",
            "for 1 h 15 min or more",
            "Last seen: 27 Feb 2026, 17:00 (Europe/Madrid).",
        ),
        "es": (
            "Quiosco sin señal: Gate 3 (Madrid HQ)",
            "lleva 1 h 15 min o más",
            "Última señal: 27 feb 2026, 17:00 (Europe/Madrid).",
        ),
    },
    alerts.BIOMETRIC_DOWN: {
        "en": ("Biometric service unreachable", "Since 2 Mar 2026, 08:05 UTC", "(timeout)"),
        "es": ("Servicio biométrico inaccesible", "Desde el 2 mar 2026, 08:05 UTC", "(timeout)"),
    },
}


def test_every_incident_code_is_covered() -> None:
    assert set(INCIDENTS) == set(alerts.CODES) == set(INCIDENT_TEXT)


@pytest.mark.parametrize("code", alerts.CODES)
def test_no_incident_text_is_left_outside_the_catalogue(code: str, cfg: Settings) -> None:
    context = {**USER, "code": code, "params": INCIDENTS[code]}
    env = build_environment("es", Blank())
    rendered = render("admin_alert", context, settings=cfg, environment=env)
    for part in (rendered.subject, rendered.text, rendered.html):
        assert _leftover(part, context) == "", f"untranslated text in the {code} alert"


@pytest.mark.parametrize("code", alerts.CODES)
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_incident_reads_in_each_language(code: str, language: str, cfg: Settings) -> None:
    english = alerts.english(code, INCIDENTS[code])
    # What raise_incident queues: the code and params, and the English text as a fallback.
    context = {**USER, "code": code, "params": INCIDENTS[code], **vars_of(english)}
    rendered = render("admin_alert", context, settings=cfg, language=language)
    subject, *phrases = INCIDENT_TEXT[code][language]
    assert rendered.subject == subject
    for phrase in phrases:
        assert phrase in rendered.text, phrase
        assert phrase.replace("'", "&#39;") in rendered.html, phrase
    if language != "en":
        for paragraph in english.message.split("\n\n"):
            assert paragraph not in rendered.text


def vars_of(alert: alerts.Alert) -> dict[str, str]:
    return {"subject": alert.subject, "message": alert.message}


def test_an_alert_without_words_shows_the_stored_text(cfg: Settings) -> None:
    # An unknown code, or an incident from before codes (no params): the English it was stored
    # with, rather than a broken sentence.
    for code, params in [("disk.full", {"free": 1}), (alerts.KIOSK_SILENT, {})]:
        context = {"code": code, "params": params, "subject": "Disk full", "message": "Free it."}
        rendered = render("admin_alert", context, settings=cfg, language="es")
        assert rendered.subject == "Disk full"
        assert "Free it." in rendered.text
    with pytest.raises(ValueError, match="bad params"):
        alerts.english(alerts.JOB_FAILED, {})


def test_subjects_dates_and_numbers_follow_the_language(cfg: Settings) -> None:
    scan = {"action": "check_in", "at_local": "2026-03-02 09:12", "location": "Madrid HQ"}
    en = render("attendance_confirmation", {**scan, "status": "late"}, settings=cfg)
    es = render("attendance_confirmation", {**scan, "status": "late"}, settings=cfg, language="es")
    assert en.subject == "Checked in at 2 Mar 2026, 09:12 · Madrid HQ"
    assert es.subject == "Entrada registrada el 2 mar 2026, 09:12 · Madrid HQ"
    assert "Status: Late" in en.text
    assert "Estado: Tarde" in es.text
    report = {"subject": "Informe", "facts": {"Horas": 1234.5, "Personas": 12000}}
    en_report = render("scheduled_report", report, settings=cfg)
    es_report = render("scheduled_report", report, settings=cfg, language="es")
    assert "Horas: 1,234.5" in en_report.text
    assert "Horas: 1.234,5" in es_report.text
    assert "Personas: 12.000" in es_report.text
    assert ">1.234,5<" in es_report.html
    correction = {"work_date": "2026-03-02", "changes": {"status": ["late", "on_time"]}}
    es_correction = render("correction_notice", correction, settings=cfg, language="es")
    assert es_correction.subject == "Se ha corregido tu asistencia del 2 mar 2026"
    assert "- Estado: Tarde -> Puntual" in es_correction.text


def test_an_unknown_language_falls_back_to_english(cfg: Settings) -> None:
    rendered = render("password_reset", {}, settings=cfg, language="tlh")
    assert rendered.subject == "Reset your TAPWORK password"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("es-ES,es;q=0.9,en;q=0.8", "es"),
        ("en-GB,en;q=0.9,es;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,es;q=0.5,en;q=0.4", "es"),
        ("de, *;q=0.1", "en"),
        ("es;q=0, en", "en"),
        ("ES-mx", "es"),
        ("es;q=abc", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_accept_language_picks_the_best_supported(header: str | None, language: str) -> None:
    assert i18n.from_accept_language(header) == language
