"""A batch's database work: one connection for all its transactions, and the claim that also
gives up a dead worker's last attempt. Real commits (`committed_db`), a real SMTP server."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.notification import delivery
from tapwork.notification.kinds import Kind
from tapwork.notification.models import OutboxEmail
from tapwork.notification.service import enqueue
from tests.support.clock import FrozenClock
from tests.support.smtp import SmtpServer

Maker = async_sessionmaker[AsyncSession]


async def test_a_batch_of_several_chunks_checks_out_one_connection(
    committed_db: Maker,
    engine: AsyncEngine,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    mails = 2 * delivery.MARK_SENT_EVERY + 3  # three chunks, so several transactions
    async with committed_db() as session:
        for n in range(mails):
            await enqueue(session, Kind.ADMIN_ALERT, to=f"chunk{n}@example.com", context={})
        await session.commit()
    checkouts: list[Any] = []

    def count(*_: Any) -> None:
        checkouts.append(1)

    event.listen(engine.sync_engine.pool, "checkout", count)
    try:
        result = await delivery.deliver_batch(committed_db, settings, clock=clock)
    finally:
        event.remove(engine.sync_engine.pool, "checkout", count)

    assert (result.claimed, result.sent) == (mails, mails)
    # The claim, a transaction per chunk and the closing one, all on the same connection.
    assert len(checkouts) == 1
    for n in range(mails):
        smtp.inbox.wait_for(f"chunk{n}@example.com")
    async with committed_db() as session:
        statuses = (await session.scalars(select(OutboxEmail.status))).all()
    assert statuses == ["sent"] * mails


async def test_a_dead_workers_last_attempt_is_given_up_by_the_claim_and_not_sent(
    committed_db: Maker,
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    async with committed_db() as session:
        last = await enqueue(session, Kind.ADMIN_ALERT, to="exhausted@example.com", context={})
        fresh = await enqueue(session, Kind.ADMIN_ALERT, to="fresh@example.com", context={})
        assert last is not None
        assert fresh is not None
        # Its retry is due now (the clock is the test's, not the database's).
        last.attempts, last.next_attempt_at = settings.outbox_max_attempts - 1, clock()
        await session.commit()
    # A worker claims the row for its last attempt (and `fresh` with it) and dies.
    async with committed_db() as crashed:
        claimed = await delivery.claim(crashed, now=clock(), limit=10, settings=settings)
        await crashed.commit()
    assert {c.id for c in claimed} == {last.id, fresh.id}

    clock.advance(seconds=settings.outbox_lease_seconds + 1)
    result = await delivery.deliver_batch(committed_db, settings, clock=clock)

    assert (result.claimed, result.sent) == (1, 1)  # only `fresh` was leased again
    smtp.inbox.wait_for("fresh@example.com")
    assert smtp.inbox.to("exhausted@example.com") == []
    async with committed_db() as session:
        gave_up = await session.get(OutboxEmail, last.id)
        assert gave_up is not None
        assert (gave_up.status, gave_up.attempts, gave_up.locked_until) == (
            "failed",
            settings.outbox_max_attempts,
            None,
        )
        assert gave_up.last_error == "worker stopped while sending; attempts exhausted"
