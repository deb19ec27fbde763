"""The scan's mails reach a real SMTP server with the contexts the templates expect."""

from __future__ import annotations

import random

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.notification import delivery
from tests.attendance.conftest import AtMadrid, Scanner, badge_code
from tests.support.clock import FrozenClock
from tests.support.personas import Org
from tests.support.smtp import SmtpServer


def _text(message) -> str:  # type: ignore[no-untyped-def]
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_content())
    return ""


async def test_late_check_in_mails_employee_and_manager(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock, at_madrid: AtMadrid,
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, smtp: SmtpServer,
) -> None:  # fmt: skip
    at_madrid(2026, 3, 2, 9, 25)
    assert (await scanner.scan(await badge_code(session, org.employee, settings, clock()))).json()[
        "status"
    ] == "late"
    await session.commit()
    result = await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=random.Random(1))
    assert result.sent == 2
    [confirmation] = smtp.inbox.wait_for(org.employee.email)
    assert "Checked in at 2 Mar 2026, 09:25" in confirmation["Subject"]
    assert "Late by" in _text(confirmation)
    [alert] = smtp.inbox.wait_for(org.supervisor.email)
    assert org.employee.first_name in _text(alert)
