"""Outbox rows reach a real SMTP server (aiosmtpd); failures are retried on the injected clock."""

from __future__ import annotations

import io
import random
from datetime import timedelta

import zxingcpp
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.notification import delivery
from tapwork.notification.kinds import Kind
from tapwork.notification.models import OutboxEmail
from tapwork.notification.service import enqueue
from tests.notification.conftest import RefusingHandler
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.smtp import SmtpServer, body_html, body_text

Maker = async_sessionmaker[AsyncSession]


async def _row(session: AsyncSession, row: OutboxEmail) -> OutboxEmail:
    await session.refresh(row)
    return row


async def _deliver(maker: Maker, settings: Settings, clock: FrozenClock) -> delivery.BatchResult:
    return await delivery.deliver_batch(maker, settings, clock=clock, rng=random.Random(4))


async def test_delivers_html_and_text_with_the_subject(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    user = await f.make_user(session, first_name="Rosa")
    url = "http://portal.test/portal/reset-password?token=abc123abc123abc123"
    row = await enqueue(session, Kind.PASSWORD_RESET, to=user, context={"reset_url": url})
    assert row is not None
    await session.commit()

    result = await _deliver(sessionmaker, settings, clock)

    assert (result.claimed, result.sent) == (1, 1)
    [message] = smtp.inbox.wait_for(user.email)
    assert message["Subject"] == "Reset your TAPWORK password"
    assert message["From"] == settings.mail_from
    assert message["Message-ID"] == f"<{row.id}@tapwork.local>"
    assert url in body_text(message)
    assert "Hello Rosa," in body_text(message)
    assert f'href="{url}"' in body_html(message)
    row = await _row(session, row)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, clock())
    assert row.subject == "Reset your TAPWORK password"


async def test_welcome_qr_arrives_inline_and_decodes_to_the_badge_code(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    user = await f.make_user(session)
    code = "TW1.2b9f0c1e.signature-part-xyz"
    context = {"login_url": "http://portal.test/portal/login", "badge_code": code}
    await enqueue(session, Kind.WELCOME, to=user, context=context)
    await session.commit()

    await _deliver(sessionmaker, settings, clock)

    [message] = smtp.inbox.wait_for(user.email)
    assert 'src="cid:badge-qr"' in body_html(message)
    [image] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<badge-qr>"
    png = image.get_content()
    assert [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [code]


async def test_opt_out_is_respected_for_optional_mail_only(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    user = await f.make_user(session)
    # The preferences API refuses to turn security mail off; a stored False must not matter.
    user.notification_preferences = {"attendance_confirmation": False, "password_changed": False}
    await session.flush()

    skipped = await enqueue(session, Kind.ATTENDANCE_CONFIRMATION, to=user, context={})
    kept = await enqueue(session, Kind.LATE_ALERT, to=user, context={"employee_name": "Eve"})
    security = await enqueue(session, Kind.PASSWORD_CHANGED, to=user, context={"changed_at": "now"})
    await session.commit()
    assert skipped is None
    assert kept is not None
    assert security is not None

    await _deliver(sessionmaker, settings, clock)

    subjects = sorted(m["Subject"] for m in smtp.inbox.wait_for(user.email, count=2))
    assert subjects == ["Late arrival: Eve", "Your TAPWORK password was changed"]
    rows = (await session.scalars(select(OutboxEmail).where(OutboxEmail.user_id == user.id))).all()
    assert sorted(r.kind for r in rows) == ["late_alert", "password_changed"]


async def test_smtp_down_is_retried_with_backoff_then_delivered(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
    closed_port: int,
) -> None:
    address = "down@example.com"
    first = await enqueue(session, Kind.ADMIN_ALERT, to=address, context={"subject": "One"})
    second = await enqueue(session, Kind.ADMIN_ALERT, to=address, context={"subject": "Two"})
    assert first is not None
    assert second is not None
    await session.commit()
    settings.smtp_port = closed_port
    failed_at = clock()

    result = await _deliver(sessionmaker, settings, clock)

    # One refused connection reschedules the whole batch instead of knocking per mail.
    assert (result.claimed, result.sent, result.retrying) == (2, 0, 2)
    for row in (first, second):
        row = await _row(session, row)
        assert (row.status, row.attempts) == ("queued", 1)
        assert f"127.0.0.1:{closed_port}" in (row.last_error or "")
        base = settings.outbox_retry_base_seconds
        assert failed_at + timedelta(seconds=base / 2) <= row.next_attempt_at
        assert row.next_attempt_at <= failed_at + timedelta(seconds=base)
    assert (await _deliver(sessionmaker, settings, clock)).claimed == 0  # not due yet

    clock.advance(seconds=settings.outbox_retry_base_seconds)
    settings.smtp_port = smtp.port
    result = await _deliver(sessionmaker, settings, clock)

    assert result.sent == 2
    assert sorted(m["Subject"] for m in smtp.inbox.wait_for(address, count=2)) == ["One", "Two"]
    row = await _row(session, first)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, clock())


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings: Settings) -> None:
    rng = random.Random(1)
    base, cap = settings.outbox_retry_base_seconds, settings.outbox_retry_max_seconds
    for attempts in range(1, 12):
        nominal = min(cap, base * 2 ** (attempts - 1))
        delays = {delivery.backoff(attempts, settings, rng).total_seconds() for _ in range(20)}
        assert all(nominal / 2 <= d <= nominal for d in delays)
        assert len(delays) > 1  # jittered


async def test_gives_up_after_max_attempts(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    closed_port: int,
) -> None:
    settings.smtp_port = closed_port
    settings.outbox_max_attempts = 3
    row = await enqueue(session, Kind.PASSWORD_RESET, to="gone@example.com", context={})
    assert row is not None
    await session.commit()

    for _ in range(3):
        await _deliver(sessionmaker, settings, clock)
        clock.advance(hours=2)

    row = await _row(session, row)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "Connection refused" in (row.last_error or "")
    assert (await _deliver(sessionmaker, settings, clock)).claimed == 0


async def test_a_refused_recipient_fails_at_once_and_a_busy_one_is_retried(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    refusing_smtp: tuple[int, RefusingHandler],
) -> None:
    port, server = refusing_smtp
    settings.smtp_port = port
    rows = {}
    for local in ("no-such-user", "busy", "fine"):
        row = await enqueue(session, Kind.ADMIN_ALERT, to=f"{local}@example.com", context={})
        assert row is not None
        rows[local] = row
    await session.commit()

    result = await _deliver(sessionmaker, settings, clock)

    # The connection survives a refusal: the mail after it still goes out.
    assert (result.sent, result.failed, result.retrying) == (1, 1, 1)
    assert server.accepted == ["fine@example.com"]
    gone, busy = await _row(session, rows["no-such-user"]), await _row(session, rows["busy"])
    assert (gone.status, gone.attempts) == ("failed", 1)
    assert "550" in (gone.last_error or "")
    assert (busy.status, busy.attempts) == ("queued", 1)
    assert "451" in (busy.last_error or "")


async def test_an_unencodable_address_fails_at_once_with_the_reason(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    bad = await enqueue(session, Kind.ADMIN_ALERT, to="ünïcode@example.com", context={})
    good = await enqueue(session, Kind.ADMIN_ALERT, to="fine2@example.com", context={})
    assert bad is not None
    assert good is not None
    await session.commit()

    result = await _deliver(sessionmaker, settings, clock)

    assert (result.sent, result.failed) == (1, 1)
    assert smtp.inbox.wait_for("fine2@example.com")
    bad = await _row(session, bad)
    assert bad.status == "failed"
    assert "non-ASCII" in (bad.last_error or "")


async def test_a_crashed_workers_lease_expires_and_the_mail_goes_out_once(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    address = "lease@example.com"
    row = await enqueue(session, Kind.ADMIN_ALERT, to=address, context={"subject": "Leased"})
    assert row is not None
    await session.commit()
    # A worker claims the row and dies before sending.
    async with sessionmaker() as crashed:
        claimed = await delivery.claim(crashed, now=clock(), limit=10, settings=settings)
        await crashed.commit()
    assert [c.id for c in claimed] == [row.id]

    clock.advance(seconds=settings.outbox_lease_seconds - 1)
    assert (await _deliver(sessionmaker, settings, clock)).claimed == 0  # still leased

    clock.advance(seconds=2)
    assert (await _deliver(sessionmaker, settings, clock)).sent == 1
    assert len(smtp.inbox.wait_for(address)) == 1
    row = await _row(session, row)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_a_stopping_worker_hands_back_what_it_did_not_send(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    address = "stop@example.com"
    for n in range(3):
        await enqueue(session, Kind.ADMIN_ALERT, to=address, context={"subject": f"S{n}"})
    await session.commit()
    sent: list[int] = []

    def stop_after_first() -> bool:
        sent.append(1)
        return len(sent) > 1

    result = await delivery.deliver_batch(
        sessionmaker, settings, clock=clock, should_stop=stop_after_first
    )

    assert (result.sent, result.released) == (1, 2)
    rows = (
        await session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == address))
    ).all()
    assert sorted((r.status, r.attempts) for r in rows) == [
        ("queued", 0),
        ("queued", 0),
        ("sent", 1),
    ]
    assert (await _deliver(sessionmaker, settings, clock)).sent == 2
    assert len(smtp.inbox.wait_for(address, count=3)) == 3


async def test_prune_forgets_old_sent_mail_and_keeps_failed(
    session: AsyncSession, clock: FrozenClock
) -> None:
    old_sent = OutboxEmail(
        kind="admin_alert",
        to_address="a@example.com",
        status="sent",
        sent_at=clock() - timedelta(days=91),
    )
    new_sent = OutboxEmail(
        kind="admin_alert",
        to_address="b@example.com",
        status="sent",
        sent_at=clock() - timedelta(days=89),
    )
    failed = OutboxEmail(kind="admin_alert", to_address="c@example.com", status="failed")
    session.add_all([old_sent, new_sent, failed])
    await session.flush()

    deleted = await delivery.prune_sent(session, now=clock(), retention_days=90)

    assert deleted == 1
    left = set((await session.scalars(select(OutboxEmail.to_address))).all())
    assert left == {"b@example.com", "c@example.com"}


async def test_no_send_starts_that_could_outlive_the_lease(
    session: AsyncSession,
    sessionmaker: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    # Four SMTP timeouts (40 s) exceed the 30 s lease: after the first mail the batch is
    # handed back instead of risking a send another worker could duplicate.
    settings.outbox_lease_seconds = 30
    settings.smtp_timeout_seconds = 10
    address = "short-lease@example.com"
    for n in range(3):
        await enqueue(session, Kind.ADMIN_ALERT, to=address, context={"subject": f"L{n}"})
    await session.commit()

    result = await _deliver(sessionmaker, settings, clock)

    assert (result.claimed, result.sent, result.released) == (3, 1, 2)
    for _ in range(2):
        assert (await _deliver(sessionmaker, settings, clock)).sent == 1
    assert len(smtp.inbox.wait_for(address, count=3)) == 3
