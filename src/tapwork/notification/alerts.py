"""The words of each incident code, in any language: what an `admin_alert` says and what the
incident keeps in English for API clients (the portal has its own copy, i18n/ops.*.ts).

An incident is raised with a stable `code` and the facts its text needs (`params`, JSON);
the text is written when it is read, in the reader's language, so one incident mails each
admin in theirs. Params by code:

| code | params |
|---|---|
| `mail.undeliverable` | `address`, `attempts`, `error` |
| `job.failed` | `task` |
| `kiosk.silent` | `kiosk`, `location`, `timezone`, `minutes`, `last_seen_at` (ISO 8601) |
| `biometric.down` | `since` (ISO 8601), `reason` |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tapwork.notification import i18n
from tapwork.notification.i18n import N_

Gettext = Callable[[str], str]

MAIL_UNDELIVERABLE: Final = "mail.undeliverable"
JOB_FAILED: Final = "job.failed"
KIOSK_SILENT: Final = "kiosk.silent"
BIOMETRIC_DOWN: Final = "biometric.down"
CODES: Final = (MAIL_UNDELIVERABLE, JOB_FAILED, KIOSK_SILENT, BIOMETRIC_DOWN)


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    message: str  # paragraphs separated by a blank line, as the admin_alert template shows them


def _mail(params: Mapping[str, Any], t: Gettext, language: str) -> Alert:
    paragraphs = [
        t(N_("A mail to %(address)s gave up after %(attempts)s attempts."))
        % {"address": params["address"], "attempts": i18n.number(params["attempts"], language)}
    ]
    if params.get("error"):
        paragraphs.append(t(N_("Last error: %(error)s")) % {"error": params["error"]})
    paragraphs.append(t(N_("Other mail may be waiting: see Email delivery in the portal.")))
    return Alert(t(N_("Email cannot be delivered")), "\n\n".join(paragraphs))


def _job(params: Mapping[str, Any], t: Gettext, language: str) -> Alert:
    task = {"task": params["task"]}
    return Alert(
        t(N_("Scheduled job failing: %(task)s")) % task,
        t(
            N_(
                "The latest run of %(task)s failed. The worker's log has the error (event "
                "procrastinate's job failure); the job runs again on its schedule."
            )
        )
        % task,
    )


def _kiosk(params: Mapping[str, Any], t: Gettext, language: str) -> Alert:
    names = {"kiosk": params["kiosk"], "location": params["location"]}
    seen = datetime.fromisoformat(str(params["last_seen_at"]))
    return Alert(
        t(N_("Kiosk silent: %(kiosk)s (%(location)s)")) % names,
        "\n\n".join(
            [
                t(
                    N_(
                        "The kiosk %(kiosk)s at %(location)s has not been heard from for "
                        "%(duration)s or more while the location is open."
                    )
                )
                % {**names, "duration": i18n.duration(int(params["minutes"]), t)},
                t(N_("Last seen: %(time)s."))
                % {"time": i18n.when_in(seen, str(params["timezone"]), language)},
                t(
                    N_(
                        "Check its power, network and screen. Scans it takes offline are kept "
                        "on the device and sent when it reconnects; this incident closes by "
                        "itself when it is heard again."
                    )
                ),
            ]
        ),
    )


def _biometric(params: Mapping[str, Any], t: Gettext, language: str) -> Alert:
    return Alert(
        t(N_("Biometric service unreachable")),
        t(
            N_(
                "Since %(time)s the face verification service has not answered (%(reason)s). "
                "Scans continue on badges alone and are flagged for review. You will not be "
                "alerted again until it has recovered."
            )
        )
        % {
            "time": i18n.when(params["since"], language),
            "reason": params.get("reason") or t(N_("no answer")),
        },
    )


_WRITERS: dict[str, Callable[[Mapping[str, Any], Gettext, str], Alert]] = {
    MAIL_UNDELIVERABLE: _mail,
    JOB_FAILED: _job,
    KIOSK_SILENT: _kiosk,
    BIOMETRIC_DOWN: _biometric,
}


def describe(
    code: str, params: Mapping[str, Any], *, language: str, gettext: Gettext | None = None
) -> Alert | None:
    """The incident's subject and message in `language` (through `gettext`, default that
    language's catalogue); None for a code this version has no words for or params it cannot
    read (an incident from before codes): the caller shows the stored English text."""
    writer = _WRITERS.get(code)
    if writer is None:
        return None
    t = gettext or i18n.translations(i18n.supported(language)).gettext
    try:
        return writer(params, t, language)
    except (KeyError, TypeError, ValueError):
        return None


def english(code: str, params: Mapping[str, Any]) -> Alert:
    """The text stored with the incident for API clients. Raises on an unknown code or
    params it cannot read: a caller's bug, caught by its tests rather than mailed."""
    alert = describe(code, params, language=i18n.DEFAULT_LANGUAGE)
    if alert is None:
        raise ValueError(f"incident {code!r}: unknown code or bad params {dict(params)!r}")
    return alert
