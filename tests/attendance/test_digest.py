"""Organisation setting `daily_digest`: no mail per scan, one mail a day per employee instead."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance import digest
from tapwork.config import Settings
from tapwork.notification import delivery
from tapwork.notification import service as notification
from tapwork.notification.models import OutboxEmail
from tests.attendance.conftest import AtMadrid, Scanner, badge_code
from tests.support.clock import FrozenClock
from tests.support.personas import Org
from tests.support.smtp import SmtpServer, body_text


async def _kinds(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(select(OutboxEmail.kind, OutboxEmail.to_address))
    return sorted((kind, to) for kind, to in rows.all())


async def test_a_day_of_scans_is_mailed_once_as_a_digest_in_the_readers_language(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock, at_madrid: AtMadrid,
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, smtp: SmtpServer,
) -> None:  # fmt: skip
    mail_settings = await notification.mail_settings(session)
    mail_settings.attendance_confirmations = "daily_digest"
    mail_settings.updated_at = clock() - timedelta(days=1)
    org.employee.language = "es"
    await session.flush()

    at_madrid(2026, 3, 2, 9, 25)
    code = await badge_code(session, org.employee, settings, clock())
    assert (await scanner.scan(code)).json()["status"] == "late"
    at_madrid(2026, 3, 2, 17, 40)
    assert (await scanner.scan(code)).status_code == 200
    # No confirmation per scan; the manager's late alert is not a confirmation and still goes.
    assert await _kinds(session) == [("late_alert", org.supervisor.email)]

    assert await digest.send_digests(session, now=clock()) == 0  # the day is not over
    at_madrid(2026, 3, 3, 0, 30)
    assert await digest.send_digests(session, now=clock()) == 1
    assert await digest.send_digests(session, now=clock()) == 0  # once per day
    await session.commit()
    await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=random.Random(1))

    [mail] = smtp.inbox.wait_for(org.employee.email)
    assert mail["Subject"] == "Tu asistencia del 2 mar 2026"
    text = body_text(mail)
    assert "Entrada 2 mar 2026, 09:25 · Salida 2 mar 2026, 17:40" in text
    assert "Tarde" in text


async def test_per_scan_mode_sends_no_digest_and_new_users_can_start_with_it_off(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock, at_madrid: AtMadrid,
    settings: Settings,
) -> None:  # fmt: skip
    at_madrid(2026, 3, 2, 8, 55)
    await scanner.scan(await badge_code(session, org.employee, settings, clock()))
    assert ("attendance_confirmation", org.employee.email) in await _kinds(session)
    at_madrid(2026, 3, 3, 1, 0)
    assert await digest.send_digests(session, now=clock()) == 0

    assert await notification.new_user_preferences(session) == {}
    (await notification.mail_settings(session)).attendance_confirmations = "off_for_new_users"
    assert await notification.new_user_preferences(session) == {"attendance_confirmation": False}
