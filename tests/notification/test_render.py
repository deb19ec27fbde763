"""Every kind renders subject, text and HTML from its contract context, and from none at all."""

from __future__ import annotations

import email
import email.policy
import io
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from tapwork.config import Settings
from tapwork.notification import mime
from tapwork.notification.kinds import Kind
from tapwork.notification.render import BADGE_QR_CID, Rendered, UnknownKind, render

# The context each caller sends (CONTRACTS.md), plus what enqueue adds for a user.
CONTEXTS: dict[Kind, dict[str, Any]] = {
    Kind.EMAIL_VERIFICATION: {"verify_url": "http://portal.test/portal/verify-email?token=v1"},
    Kind.WELCOME: {"login_url": "http://portal.test/portal/login", "badge_code": "TW1.AAAA.BBBB"},
    Kind.INVITATION: {
        "accept_url": "http://portal.test/portal/accept-invite?token=i1",
        "invited_by": "Hana Tester",
    },
    Kind.ACCOUNT_EXISTS: {
        "login_url": "http://portal.test/portal/login",
        "reset_url": "http://portal.test/portal/reset-password?token=r0",
    },
    Kind.PASSWORD_RESET: {"reset_url": "http://portal.test/portal/reset-password?token=r1"},
    Kind.PASSWORD_CHANGED: {"changed_at": "2 Mar 2026, 09:14 (Europe/Madrid)"},
    Kind.ATTENDANCE_CONFIRMATION: {
        "action": "check_in",
        "at_local": "09:12",
        "location": "Madrid HQ",
        "status": "late",
        "minutes_late": 7,
    },
    Kind.LATE_ALERT: {
        "employee_name": "Eve Tester",
        "at_local": "09:40",
        "minutes_late": 35,
        "location": "Madrid HQ",
        "department": "Engineering",
    },
    Kind.MISSING_CLOCKOUT: {"check_in_local": "Mon 2 Mar, 09:01", "location": "Madrid HQ"},
    Kind.CORRECTION_NOTICE: {
        "work_date": "2026-03-02",
        "reason": "Forgot to scan out",
        "corrected_by": "Hana Tester",
        "rows": [{"field": "Check-out", "before": None, "after": "2 Mar 2026, 17:00"}],
        "timezone": "Europe/Madrid",
    },
    Kind.WEEKLY_SUMMARY: {
        "subject": "Your week: 38 h 20 min",
        "message": "Five days present.\n\nOne late.",
    },
    Kind.SCHEDULED_REPORT: {
        "subject": "Monthly attendance report",
        "message": "Attached figures.",
        "facts": {"Present": 41, "Late": 3},
        "url": "http://portal.test/portal/",
    },
    Kind.ADMIN_ALERT: {
        "subject": "Biometric service unreachable",
        "message": "Scans continue on badges.",
    },
}
# A phrase each kind's text must carry: the URL or fact the reader acts on.
KEY_TEXT = {
    Kind.EMAIL_VERIFICATION: "token=v1",
    Kind.WELCOME: "portal/login",
    Kind.INVITATION: "Hana Tester",
    Kind.ACCOUNT_EXISTS: "token=r0",
    Kind.PASSWORD_RESET: "token=r1",
    Kind.PASSWORD_CHANGED: "09:14",
    Kind.ATTENDANCE_CONFIRMATION: "7 min",
    Kind.LATE_ALERT: "35 min",
    Kind.MISSING_CLOCKOUT: "09:01",
    Kind.CORRECTION_NOTICE: "17:00",
    Kind.WEEKLY_SUMMARY: "One late.",
    Kind.SCHEDULED_REPORT: "Present",
    Kind.ADMIN_ALERT: "Scans continue",
}
USER = {"first_name": "Eve", "full_name": "Eve Tester"}


@pytest.fixture
def cfg() -> Settings:
    return Settings(TAPWORK_ENV="test", public_url="http://portal.test")


def test_every_kind_has_a_contract_context() -> None:
    assert set(CONTEXTS) == set(Kind)


@pytest.mark.parametrize("kind", list(Kind))
def test_renders_contract_context(kind: Kind, cfg: Settings) -> None:
    rendered = render(kind.value, {**USER, **CONTEXTS[kind]}, settings=cfg)
    assert rendered.subject.strip()
    assert "\n" not in rendered.subject
    assert KEY_TEXT[kind] in rendered.text
    assert KEY_TEXT[kind] in rendered.html
    assert "Hello Eve," in rendered.text
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in rendered.html


@pytest.mark.parametrize("kind", list(Kind))
def test_tolerates_missing_keys(kind: Kind, cfg: Settings) -> None:
    rendered = render(kind.value, {}, settings=cfg)
    assert rendered.subject
    assert "Hello," in rendered.text
    for leaked in ("Undefined", "None", "{{", "{%"):
        assert leaked not in rendered.text
        assert leaked not in rendered.html


def test_subjects_name_what_happened(cfg: Settings) -> None:
    check_out = {
        "action": "check_out",
        "at_local": "17:03",
        "location": "Madrid HQ",
        "worked_minutes": 485,
        "overtime_minutes": 3,
    }
    rendered = render("attendance_confirmation", check_out, settings=cfg)
    assert rendered.subject == "Checked out at 17:03 · Madrid HQ"
    assert "8 h 05 min" in rendered.text
    late = render("late_alert", CONTEXTS[Kind.LATE_ALERT], settings=cfg)
    assert late.subject == "Late arrival: Eve Tester (35 min)"
    assert render("admin_alert", {"subject": "Disk\r\nBcc: x@evil.test"}, settings=cfg).subject == (
        "Disk Bcc: x@evil.test"
    )


def test_iso_timestamps_are_shown_readably(cfg: Settings) -> None:
    changed = render("password_changed", {"changed_at": "2026-03-02T08:05:09+00:00"}, settings=cfg)
    assert "on 2 Mar 2026, 08:05 UTC" in changed.text
    correction = {
        "work_date": "2026-03-02",
        "changes": {"check_out_at": [None, "2026-03-02T17:00:00+01:00"]},
    }
    rendered = render("correction_notice", correction, settings=cfg)
    assert "Check out at: — -> 2 Mar 2026, 17:00 +0100" in rendered.text
    assert "for 2 Mar 2026" in rendered.text


def test_html_is_escaped_and_text_is_verbatim(cfg: Settings) -> None:
    context = {"first_name": "<script>alert(1)</script>", **CONTEXTS[Kind.INVITATION]}
    context["invited_by"] = 'O\'Neil & "Co" <b>'
    rendered = render("invitation", context, settings=cfg)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "O&#39;Neil &amp; &#34;Co&#34; &lt;b&gt;" in rendered.html
    assert "<script>alert(1)</script>" in rendered.text
    assert rendered.subject == 'O\'Neil & "Co" <b> invited you to TAPWORK'


def test_optional_mail_says_how_to_opt_out_and_security_mail_does_not(cfg: Settings) -> None:
    optional = render("attendance_confirmation", {}, settings=cfg)
    security = render("password_reset", {}, settings=cfg)
    assert "turn this email off" in optional.text
    assert "turn this email off" not in security.text
    assert "always sent" in security.text


def test_welcome_embeds_a_qr_that_decodes_to_the_badge_code(cfg: Settings) -> None:
    rendered = render("welcome", {**USER, **CONTEXTS[Kind.WELCOME]}, settings=cfg)
    assert f'src="cid:{BADGE_QR_CID}"' in rendered.html
    [image] = rendered.inline
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.png)))
    assert [d.text for d in decoded] == ["TW1.AAAA.BBBB"]


def test_welcome_without_badge_has_no_image(cfg: Settings) -> None:
    rendered = render("welcome", {"login_url": "http://portal.test/portal/login"}, settings=cfg)
    assert rendered.inline == []
    assert "cid:" not in rendered.html


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def test_message_is_multipart_with_related_qr(cfg: Settings) -> None:
    rendered = render("welcome", {**USER, **CONTEXTS[Kind.WELCOME]}, settings=cfg)
    raw = mime.build(
        rendered,
        to="eve@example.com",
        sender=cfg.mail_from,
        message_id="abc",
        date=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        domain="tapwork.local",
    )
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    message = _parse(raw)
    assert message.defects == []
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"] == "<abc@tapwork.local>"
    assert message["From"] == cfg.mail_from
    assert message["Date"] == "Mon, 02 Mar 2026 08:00:00 +0000"
    assert [p.get_content_type() for p in message.iter_parts()] == [
        "text/plain",
        "multipart/related",
    ]
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert _lf(text.get_content()) == rendered.text
    assert _lf(html.get_content()) == rendered.html
    [image] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == f"<{BADGE_QR_CID}>"
    assert image.get_content() == rendered.inline[0].png


def test_long_and_non_ascii_subjects_survive_the_wire(cfg: Settings) -> None:
    subject = "Llegada tarde: José Ñúñez — " + "ü" * 120 + " fin"
    rendered = Rendered(subject=subject, text="línea 1\n.\nfin ", html="<p>á</p>")
    raw = mime.build(
        rendered,
        to="eve@example.com",
        sender="Fichajes Añil <no-reply@tapwork.local>",
        message_id="x1",
        date=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        domain="tapwork.local",
    )
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))  # RFC 5322 2.1.1
    message = _parse(raw)
    assert message["Subject"] == subject
    assert message["From"].addresses[0].display_name == "Fichajes Añil"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert _lf(text.get_content()) == "línea 1\n.\nfin "


@pytest.mark.parametrize(
    "address", ["ünïcode@example.com", "a@b.test\r\nBcc: x@evil.test", "<a@b.test>", "a b@c.test"]
)
def test_addresses_that_cannot_be_written_are_refused(address: str, cfg: Settings) -> None:
    rendered = render("password_reset", {}, settings=cfg)
    with pytest.raises(mime.Unencodable):
        mime.build(
            rendered,
            to=address,
            sender=cfg.mail_from,
            message_id="x",
            date=datetime(2026, 3, 2, tzinfo=UTC),
            domain="tapwork.local",
        )


def test_unknown_kind_is_refused(cfg: Settings) -> None:
    with pytest.raises(UnknownKind):
        render("carrier_pigeon", {}, settings=cfg)
