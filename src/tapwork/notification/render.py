"""Outbox row → email: Jinja2 templates (subject, plain text, HTML) and the MIME message.

Each kind has `templates/<kind>.txt` (with a `subject` block) and `templates/<kind>.html`, both
extending a shared layout. HTML is autoescaped; text is not (it is never interpreted). Contexts
are versionless JSON written by other domains, so templates guard every optional key and a
missing key renders as empty rather than failing the mail.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import cache
from typing import Any, cast

import segno
from jinja2 import (
    ChainableUndefined,
    Environment,
    PackageLoader,
    Undefined,
    nodes,
    select_autoescape,
)
from jinja2.visitor import NodeTransformer
from markupsafe import escape

from tapwork.config import Settings
from tapwork.notification import alerts, i18n
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
class Attachment:
    """A file sent with the mail (a scheduled report's XLSX, PDF or CSV)."""

    filename: str
    media_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    inline: list[InlineImage] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def N_(message: str) -> str:
    """Marks a message for the catalogue (extracted by Babel); translated where it is shown."""
    return message


# Codes that reach mail as data (record statuses, corrected fields): shown by their label in
# the reader's language. An unknown code is shown humanised, as before.
LABELS: dict[str, str] = {
    "early": N_("Early"),
    "on_time": N_("On time"),
    "late": N_("Late"),
    "non_working_day": N_("Non-working day"),
    "holiday": N_("Holiday"),
    "unscheduled": N_("Unscheduled"),
    "open": N_("Open"),
    "check_in_at": N_("Check in at"),
    "check_out_at": N_("Check out at"),
    "work_date": N_("Work date"),
    "status": N_("Status"),
    "minutes_late": N_("Minutes late"),
    "worked_minutes": N_("Worked minutes"),
    "overtime_minutes": N_("Overtime minutes"),
    "early_leave_minutes": N_("Early leave minutes"),
    "source": N_("Source"),
    "notes": N_("Notes"),
    "location_id": N_("Location"),
    "online": N_("Kiosk"),
    "offline": N_("Kiosk (offline)"),
    "manual": N_("Manual"),
    "correction": N_("Correction"),
    # Optional kinds, as the unsubscribe page names them.
    "welcome": N_("Welcome emails"),
    "attendance_confirmation": N_("Attendance confirmations"),
    "late_alert": N_("Late arrival alerts"),
    "missing_clockout": N_("Missing check-out reminders"),
    "correction_notice": N_("Correction notices"),
    "weekly_summary": N_("Weekly summaries"),
    "scheduled_report": N_("Scheduled reports"),
}


def _duration(minutes: Any, gettext: Any = str) -> str:
    """`65` → `1 h 05 min`; not a number → as given. The units go through the catalogue."""
    if isinstance(minutes, Undefined):
        return ""
    try:
        total = int(minutes)
    except (TypeError, ValueError):
        return str(minutes)
    return i18n.duration(total, gettext)


def _paragraphs(message: Any) -> list[str]:
    if not message:
        return []
    return [p.strip() for p in re.split(r"\n\s*\n", str(message)) if p.strip()]


@cache
def _environment(language: str) -> Environment:
    """One environment per language: its templates are compiled once, with that language's
    gettext and formatting bound in."""
    return build_environment(language, i18n.translations(language))


class _Baked(NodeTransformer):
    """`_("literal", name=value)` → the literal's translation, formatted at render time.

    The i18n extension's `_` runs two `Context.call`s, a Markup and a `%` per message on every
    render (about half of a mail's render time, 20 messages in a confirmation). A literal's
    translation is fixed for an environment (one per language), so it is looked up once, when
    the template is compiled; what remains is what newstyle gettext does after the lookup:
    Markup when autoescaping, then `% variables`."""

    def __init__(self, gettext: Callable[[str], str]) -> None:
        self.gettext = gettext

    def visit_Call(self, call: nodes.Call) -> nodes.Node:
        node = self.generic_visit(call)
        if not (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Name)
            and node.node.name in ("_", "gettext")
            and len(node.args) == 1
            and isinstance(node.args[0], nodes.Const)
            and isinstance(node.args[0].value, str)
            and node.dyn_args is None
            and node.dyn_kwargs is None
        ):
            return node
        text = self.gettext(node.args[0].value)
        variables = [nodes.Pair(nodes.Const(kw.key), kw.value) for kw in node.kwargs]
        translated = nodes.MarkSafeIfAutoescape(nodes.Const(text), lineno=node.lineno)
        return nodes.Mod(translated, nodes.Dict(variables), lineno=node.lineno)


class _BakingEnvironment(Environment):
    bake: Callable[[str], str] | None = None

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        if self.bake is None:
            return tree
        return cast(nodes.Template, _Baked(self.bake).visit(tree))


def build_environment(language: str, translations: Any) -> Environment:
    env = _BakingEnvironment(
        loader=PackageLoader("tapwork.notification", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates ship with the package: no stat() of the file on every mail.
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    gettext = translations.gettext
    env.bake = gettext

    def label(code: Any) -> str:
        if isinstance(code, Undefined) or code is None:
            return ""
        text = str(code)
        if text in LABELS:
            return str(gettext(LABELS[text]))
        text = text.replace("_", " ").strip()
        return text[:1].upper() + text[1:]

    def when(value: Any) -> str:
        if isinstance(value, Undefined) or value is None:
            return ""
        return i18n.when(value, language)

    def show(value: Any) -> str:
        if value is None or value == "" or isinstance(value, Undefined):
            return "—"
        if isinstance(value, int | float) and not isinstance(value, bool):
            return i18n.number(value, language)
        if isinstance(value, str) and value in LABELS:
            return label(value)  # a status or source code
        return when(value)

    def localized_items(facts: Any) -> list[tuple[Any, Any]]:
        return [
            (k, i18n.number(v, language) if isinstance(v, int | float) else v)
            for k, v in facts.items()
        ]

    env.filters["localized_items"] = localized_items
    env.filters["duration"] = lambda minutes: _duration(minutes, gettext)
    env.filters["humanize"] = label
    env.filters["paragraphs"] = _paragraphs
    env.filters["show"] = show
    env.filters["when"] = when
    env.globals["language"] = language
    env.globals["incident_alert"] = lambda code, params: alerts.describe(
        code, params, language=language, gettext=gettext
    )
    return env


def _clean_subject(raw: str) -> str:
    # One line whatever the context held: a newline in a header would be header injection.
    subject = " ".join(raw.split())
    return subject[:SUBJECT_MAX] or "TAPWORK"


def _badge_qr(code: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


def render(
    kind: str,
    context: Mapping[str, Any],
    *,
    settings: Settings,
    language: str = i18n.DEFAULT_LANGUAGE,
    unsubscribe_url: str = "",
    environment: Environment | None = None,
) -> Rendered:
    """Subject, text and HTML for one mail in `language`; images it embeds (the welcome QR).

    `unsubscribe_url` (optional kinds) is shown in the footer as the one-click way out.
    Per-scan kinds come from a skeleton when one fits (`_Skeleton`): the same bytes.
    """
    known = _kind(kind)
    if environment is None and known in _SKELETON_KINDS:
        filled = _from_skeleton(known, context, settings, i18n.supported(language), unsubscribe_url)
        if filled is not None:
            return filled
    return _render(
        kind,
        context,
        settings=settings,
        language=language,
        unsubscribe_url=unsubscribe_url,
        environment=environment,
    )


def _kind(kind: str) -> Kind:
    try:
        return Kind(kind)
    except ValueError as exc:
        raise UnknownKind(f"no templates for email kind {kind!r}") from exc


# A confirmation per scan, a late alert per late check-in: most of the mail there is, and
# their renders differ mostly in names. Rendering two Jinja2 templates cost about a quarter
# of a mail's worker CPU; a skeleton is rendered once per shape and the names put in.
_SKELETON_KINDS = frozenset({Kind.ATTENDANCE_CONFIRMATION, Kind.LATE_ALERT})
# Context values shown as they are (escaped in HTML) and only tested for being non-empty.
_HOLES = ("first_name", "full_name", "employee_name", "location", "department")
_MARK = "\x1a"  # SUB: not whitespace (the subject's clean-up keeps it), unchanged by escaping
_MARKED = re.compile(_MARK + r"(\d+)" + _MARK)
_SKELETONS_MAX = 1024


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """A mail rendered with a mark (SUB, its number, SUB) for each hole value: filling in the
    values (as they are in the subject and text, escaped in the HTML) gives the bytes the
    templates give. Trusted only after it did so once for real values (`_from_skeleton`)."""

    subject: str
    text: str
    html: str

    def fill(self, values: list[str]) -> Rendered:
        escaped = [str(escape(v)) for v in values]

        def plain(match: re.Match[str]) -> str:
            return values[int(match.group(1))]

        def html(match: re.Match[str]) -> str:
            return escaped[int(match.group(1))]

        return Rendered(
            subject=_MARKED.sub(plain, self.subject),
            text=_MARKED.sub(plain, self.text),
            html=_MARKED.sub(html, self.html),
        )


_skeletons: dict[tuple[Any, ...], _Skeleton | None] = {}


def _from_skeleton(
    kind: Kind,
    context: Mapping[str, Any],
    settings: Settings,
    language: str,
    unsubscribe_url: str,
) -> Rendered | None:
    """The mail from its skeleton, or None when it must be rendered in full: a name that is
    not a plain one-line string, a context with lists or attachments, a subject long enough
    to be cut, or a shape whose skeleton did not give the templates' bytes."""
    names: list[str] = []
    values: list[str] = []
    for name in (*_HOLES, "unsubscribe_url"):
        value = unsubscribe_url if name == "unsubscribe_url" else context.get(name)
        if not isinstance(value, str) or not value:
            continue  # absent or empty: part of the shape, rendered as it is
        if " ".join(value.split()) != value or _MARK in value:
            return None
        names.append(name)
        values.append(value)
    shape = []
    for name, value in context.items():
        if name in names:
            continue
        if value is not None and not isinstance(value, str | int | float | bool):
            return None  # lists (a digest), objects (an attachment): render in full
        if isinstance(value, str) and _MARK in value:
            return None
        shape.append((name, type(value).__name__, value))  # True == 1, but not here
    key = (kind, language, settings.public_url, tuple(names), tuple(sorted(shape)))
    if key in _skeletons:
        skeleton = _skeletons[key]
        if skeleton is None:
            return None
        filled = skeleton.fill(values)
        return filled if len(filled.subject) < SUBJECT_MAX else None
    marks = {name: f"{_MARK}{n}{_MARK}" for n, name in enumerate(names)}
    leave = marks.pop("unsubscribe_url", unsubscribe_url)
    marked = _render(
        kind.value, {**context, **marks}, settings=settings, language=language,
        unsubscribe_url=leave,
    )  # fmt: skip
    real = _render(
        kind.value, context, settings=settings, language=language, unsubscribe_url=unsubscribe_url
    )
    candidate = _Skeleton(marked.subject, marked.text, marked.html)
    if len(_skeletons) >= _SKELETONS_MAX:
        _skeletons.clear()
    # Subjects are cut at SUBJECT_MAX: a skeleton is for subjects that were not.
    fits = (
        max(len(marked.subject), len(real.subject)) < SUBJECT_MAX and candidate.fill(values) == real
    )
    _skeletons[key] = candidate if fits and not real.inline and not real.attachments else None
    return real


def _render(
    kind: str,
    context: Mapping[str, Any],
    *,
    settings: Settings,
    language: str = i18n.DEFAULT_LANGUAGE,
    unsubscribe_url: str = "",
    environment: Environment | None = None,
) -> Rendered:
    known = _kind(kind)
    env = environment or _environment(i18n.supported(language))
    values: dict[str, Any] = {
        **context,
        "kind": known.value,
        "portal_url": settings.public_url.rstrip("/"),
        "optional": known in OPTIONAL_KINDS,
        "badge_qr_cid": BADGE_QR_CID,
        "unsubscribe_url": unsubscribe_url,
    }
    if known is Kind.ADMIN_ALERT and context.get("code"):
        # An incident is written in the reader's language from its code and params; the
        # English subject and message in the context stay the fallback for an unknown code.
        describe = cast("Callable[[str, Any], alerts.Alert | None]", env.globals["incident_alert"])
        alert = describe(str(context["code"]), context.get("params") or {})
        if alert is not None:
            values["subject"], values["message"] = alert.subject, alert.message
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
    return Rendered(
        subject=subject, text=text, html=html, inline=inline, attachments=attachments(context)
    )


_SAFE_FILENAME = re.compile(r"[A-Za-z0-9._-]{1,120}")
_MEDIA_TYPE = re.compile(r"[a-z]+/[a-z0-9.+-]{1,100}")


def attachments(context: Mapping[str, Any]) -> list[Attachment]:
    """`context["attachment"] = {"filename", "media_type", "data" (base64)}`: a file the
    caller computed (report/scheduled.py). Names and types are checked: they go into headers."""
    spec = context.get("attachment")
    if not isinstance(spec, Mapping):
        return []
    filename, media_type = str(spec.get("filename", "")), str(spec.get("media_type", ""))
    if not _SAFE_FILENAME.fullmatch(filename) or not _MEDIA_TYPE.fullmatch(media_type):
        raise ValueError(f"bad attachment name or type: {filename!r} {media_type!r}")
    return [Attachment(filename, media_type, base64.b64decode(str(spec.get("data", ""))))]


def label_of(code: str, language: str) -> str:
    """The label of a code (a status, a field, an optional kind) in `language`."""
    return str(_environment(i18n.supported(language)).filters["humanize"](code))


def render_page(name: str, values: Mapping[str, Any], *, language: str) -> str:
    """A small HTML page from `templates/<name>.html` in `language` (the unsubscribe page)."""
    env = _environment(i18n.supported(language))
    return env.get_template(f"{name}.html").render(values)


@cache
def sender_domain(sender: str) -> str:
    """The mail-from domain, for Message-IDs (`<outbox id@domain>`)."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "tapwork.local"
