"""Outbox row → email: Jinja2 templates (subject, plain text, HTML) and the MIME message.

Each kind has `templates/<kind>.txt` (with a `subject` block) and `templates/<kind>.html`, both
extending a shared layout. HTML is autoescaped; text is not (it is never interpreted). Contexts
are versionless JSON written by other domains, so templates guard every optional key and a
missing key renders as empty rather than failing the mail.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import cache
from typing import Any

import segno
from jinja2 import ChainableUndefined, Environment, PackageLoader, Undefined, select_autoescape

from tapwork.config import Settings
from tapwork.notification.kinds import OPTIONAL_KINDS, Kind

BADGE_QR_CID = "badge-qr"
SUBJECT_MAX = 300  # the outbox `subject` column


class UnknownKind(ValueError):
    """An outbox row names a kind this version has no templates for."""


@dataclass(frozen=True, slots=True)
class InlineImage:
    cid: str
    png: bytes
    filename: str


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    inline: list[InlineImage] = field(default_factory=list)


def _duration(minutes: Any) -> str:
    """`65` → `1 h 05 min`; anything not a number is shown as given."""
    if isinstance(minutes, Undefined):
        return ""
    try:
        total = int(minutes)
    except (TypeError, ValueError):
        return str(minutes)
    hours, rest = divmod(abs(total), 60)
    sign = "-" if total < 0 else ""
    return f"{sign}{hours} h {rest:02d} min" if hours else f"{sign}{rest} min"


def _humanize(name: Any) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _paragraphs(message: Any) -> list[str]:
    if not message:
        return []
    return [p.strip() for p in re.split(r"\n\s*\n", str(message)) if p.strip()]


def _when(value: Any) -> str:
    """An ISO 8601 timestamp (`2026-03-02T08:00:00+00:00`) as `2 Mar 2026, 08:00 UTC`; any
    other value (callers usually pre-format local times) is shown as given."""
    if isinstance(value, Undefined) or value is None:
        return ""
    text = str(value)
    if len(text) <= 10:  # a bare date stays a date
        return text
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    zone = ""
    if parsed.utcoffset() is not None:
        zone = " UTC" if parsed.utcoffset() == timedelta(0) else f" {parsed.strftime('%z')}"
    return f"{parsed.day} {parsed.strftime('%b %Y, %H:%M')}{zone}"


def _show(value: Any) -> str:
    if value is None or value == "" or isinstance(value, Undefined):
        return "—"
    return _when(value)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tapwork.notification", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates ship with the package: no stat() of the file on every mail.
        auto_reload=False,
    )
    env.filters["duration"] = _duration
    env.filters["humanize"] = _humanize
    env.filters["paragraphs"] = _paragraphs
    env.filters["show"] = _show
    env.filters["when"] = _when
    return env


def _clean_subject(raw: str) -> str:
    # One line whatever the context held: a newline in a header would be header injection.
    subject = " ".join(raw.split())
    return subject[:SUBJECT_MAX] or "TAPWORK"


def _badge_qr(code: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


def render(kind: str, context: Mapping[str, Any], *, settings: Settings) -> Rendered:
    """Subject, text and HTML for one mail; images it embeds (the welcome badge QR)."""
    try:
        known = Kind(kind)
    except ValueError as exc:
        raise UnknownKind(f"no templates for email kind {kind!r}") from exc
    env = _environment()
    values: dict[str, Any] = {
        **context,
        "kind": known.value,
        "portal_url": settings.public_url.rstrip("/"),
        "optional": known in OPTIONAL_KINDS,
        "badge_qr_cid": BADGE_QR_CID,
    }
    text_template = env.get_template(f"{known.value}.txt")
    subject = _clean_subject(
        "".join(text_template.blocks["subject"](text_template.new_context(values)))
    )
    values["subject"] = subject
    text = text_template.render(values)
    html = env.get_template(f"{known.value}.html").render(values)
    inline = []
    if known is Kind.WELCOME and context.get("badge_code"):
        png = _badge_qr(str(context["badge_code"]))
        inline.append(InlineImage(cid=BADGE_QR_CID, png=png, filename="badge.png"))
    return Rendered(subject=subject, text=text, html=html, inline=inline)


@cache
def sender_domain(sender: str) -> str:
    """The mail-from domain, for Message-IDs (`<outbox id@domain>`)."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "tapwork.local"
