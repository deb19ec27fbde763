"""Mail arrives (real aiosmtpd) in the reader's language, and optional mail carries a signed
one-click unsubscribe link (RFC 8058) that turns that kind off without signing in."""

from __future__ import annotations

import random
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.audit.models import AuditLog
from tapwork.config import Settings
from tapwork.notification import delivery, unsubscribe
from tapwork.notification.kinds import Kind
from tapwork.notification.service import enqueue
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.smtp import SmtpServer, body_html, body_text

Maker = async_sessionmaker[AsyncSession]
URL = "/api/v1/notifications/unsubscribe"


async def _deliver(maker: Maker, settings: Settings, clock: FrozenClock) -> None:
    result = await delivery.deliver_batch(maker, settings, clock=clock, rng=random.Random(1))
    assert result.sent == result.claimed > 0


async def test_a_spanish_reader_gets_spanish_mail_and_a_language_change_applies_to_queued_mail(
    session: AsyncSession, sessionmaker: Maker, settings: Settings, clock: FrozenClock,
    smtp: SmtpServer,
) -> None:  # fmt: skip
    rosa = await f.make_user(session, first_name="Rosa")
    rosa.language = "es"
    ana = await f.make_user(session, first_name="Ana")
    context = {"action": "check_in", "at_local": "2026-03-02 09:12", "location": "Sede"}
    await enqueue(session, Kind.ATTENDANCE_CONFIRMATION, to=rosa, context=context)
    await enqueue(session, Kind.PASSWORD_RESET, to=ana, context={"reset_url": "http://r.test/1"})
    ana.language = "es"  # changed after queueing: the mail goes out in the new language
    await session.commit()

    await _deliver(sessionmaker, settings, clock)

    [confirmation] = smtp.inbox.wait_for(rosa.email)
    assert confirmation["Subject"] == "Entrada registrada el 2 mar 2026, 09:12 · Sede"
    assert confirmation["Content-Language"] == "es"
    assert "Hola, Rosa:" in body_text(confirmation)
    assert '<html lang="es">' in body_html(confirmation)
    [reset] = smtp.inbox.wait_for(ana.email)
    assert reset["Subject"] == "Restablece tu contraseña de TAPWORK"
    assert "Hola, Ana:" in body_text(reset)


async def test_optional_mail_unsubscribes_in_one_click_without_signing_in(
    client: httpx.AsyncClient, session: AsyncSession, sessionmaker: Maker, settings: Settings,
    clock: FrozenClock, smtp: SmtpServer,
) -> None:  # fmt: skip
    user = await f.make_user(session, first_name="Eva")
    await enqueue(session, Kind.MISSING_CLOCKOUT, to=user, context={"location": "Sede"})
    await session.commit()
    await _deliver(sessionmaker, settings, clock)

    [message] = smtp.inbox.wait_for(user.email)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(message["List-Unsubscribe"]).strip("<>")
    assert link.startswith(f"{settings.public_url.rstrip('/')}{URL}?")
    assert link in body_text(message)
    assert link.replace("&", "&amp;") in body_html(message)
    target = urlsplit(link)
    path = f"{target.path}?{target.query}"

    # Opening the link (or a scanner fetching it) changes nothing.
    page = await client.get(path)
    assert page.status_code == 200
    assert "Stop these emails" in page.text
    assert page.headers["cache-control"] == "no-store"
    await session.refresh(user)
    assert user.notification_preferences.get("missing_clockout", True) is True

    # What a mail client does for RFC 8058, with no cookie or token.
    done = await client.post(
        path,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200
    assert "you will not receive these emails any more" in done.text
    await session.refresh(user)
    assert user.notification_preferences["missing_clockout"] is False
    again = await client.post(path)
    assert again.status_code == 200
    [entry] = (
        await session.scalars(select(AuditLog).where(AuditLog.action == "notification.unsubscribe"))
    ).all()
    assert entry.resource_id == str(user.id)

    # The kind is now off: no more of it is queued.
    assert await enqueue(session, Kind.MISSING_CLOCKOUT, to=user, context={}) is None


async def test_security_mail_has_no_unsubscribe_and_the_page_speaks_the_users_language(
    client: httpx.AsyncClient, session: AsyncSession, sessionmaker: Maker, settings: Settings,
    clock: FrozenClock, smtp: SmtpServer,
) -> None:  # fmt: skip
    user = await f.make_user(session, first_name="Iker")
    user.language = "es"
    await enqueue(session, Kind.PASSWORD_RESET, to=user, context={"reset_url": "http://r.test/"})
    await session.commit()
    await _deliver(sessionmaker, settings, clock)
    [message] = smtp.inbox.wait_for(user.email)
    assert message["List-Unsubscribe"] is None
    assert unsubscribe.url(user.id, "password_reset", settings) == ""

    link = urlsplit(unsubscribe.url(user.id, "late_alert", settings))
    page = await client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200
    assert '<html lang="es">' in page.text
    assert "Avisos de llegada tarde" in page.text


async def test_a_forged_or_security_link_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await f.make_user(session)
    await session.commit()
    good = parse_qs(urlsplit(unsubscribe.url(user.id, "late_alert", settings)).query)
    forged_sig = {"u": str(user.id), "k": "late_alert", "s": "A" * 24}
    other_kind = {"u": str(user.id), "k": "weekly_summary", "s": good["s"][0]}
    other_user = {"u": str(uuid.uuid4()), "k": "late_alert", "s": good["s"][0]}
    security = {
        "u": str(user.id),
        "k": "password_reset",
        "s": unsubscribe.signature(user.id, "password_reset", settings),
    }
    for params in (forged_sig, other_kind, other_user, security):
        response = await client.post(URL, params=params)
        assert response.status_code == 404, params
        assert response.json()["error"]["code"] == "UNSUBSCRIBE_LINK_INVALID"
    missing = await client.post(URL, params={"u": "not-a-uuid", "k": "late_alert", "s": "x"})
    assert missing.status_code == 422
    await session.refresh(user)
    assert user.notification_preferences == {}
