"""Outbox delivery: claim due mail, send it over one SMTP connection, record each outcome.

Exactly-once between workers comes from the lease: claiming (`FOR UPDATE SKIP LOCKED`, then
status `sending` + `locked_until`) commits before any SMTP traffic, so other workers skip the
row until the lease ends, and no transaction stays open while a slow server answers. A worker
that dies mid-batch leaves `sending` rows; the next claim takes them again as soon as their
owner's advisory lock is gone (`Owner`: a killed process's session ends and its lock with it),
or else when the lease expires. At-least-once in that one case: a mail the relay accepted just
before the crash, and not yet recorded (at most `MARK_SENT_EVERY` of them), is sent once more,
with the same Message-ID (the row's id), so the duplicate is recognisable.

Every function takes `now` (or a clock) so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import psycopg
import structlog
from sqlalchemy import Table, and_, case, delete, literal_column, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.notification import i18n, incidents, mime, unsubscribe
from tapwork.notification.models import OutboxEmail
from tapwork.notification.render import render, sender_domain
from tapwork.notification.smtp import Connection, Mail, Outcome, describe
from tapwork.user.models import User

log = structlog.get_logger("tapwork.notification.delivery")

ERROR_MAX = 2000
# A send runs a handful of commands, each bounded by the SMTP timeout.
_COMMANDS_PER_SEND = 4
# Delivered rows are recorded in groups: one commit per mail would cost more than the send.
# A worker killed mid-group resends at most this many mails once their lease expires.
MARK_SENT_EVERY = 10
ONE_CLICK = "List-Unsubscribe=One-Click"
UNDELIVERABLE = "mail.undeliverable"


@dataclass(frozen=True, slots=True)
class Claimed:
    id: uuid.UUID
    kind: str
    to_address: str
    context: dict[str, Any]
    attempts: int
    user_id: uuid.UUID | None = None
    # The recipient's language as it is when the mail is sent (a change applies to queued
    # mail); a context `language` (mail to an address, not a user) wins.
    language: str = i18n.DEFAULT_LANGUAGE


@dataclass(slots=True)
class BatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0


# The advisory locks of delivery loops: (OWNER_LOCK_CLASS, owner key), one per live loop.
OWNER_LOCK_CLASS = 5527375  # 0x54574F, "TWO": TAPWORK outbox; spelled out in _OWNER_GONE
_OWNER_GONE: Any = literal_column(
    "email_outbox.claimed_by NOT IN (SELECT objid::bigint FROM pg_locks WHERE locktype = "
    "'advisory' AND classid = 5527375 AND objsubid = 2 AND granted)"
)


class Owner:
    """A delivery loop's liveness, as PostgreSQL sees it: a session holding the advisory lock
    (OWNER_LOCK_CLASS, key) for as long as the loop lives. A process that is killed loses
    the session and so the lock; its claimed rows are then taken back at the next claim."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.key = random.randrange(1, 2**31)
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def ensure(self) -> int:
        """The key, its lock held (again, after a database restart). Raises when the
        database cannot be reached."""
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            try:
                await self._conn.execute("SELECT 1")
                return self.key
            except psycopg.Error:
                await self.close()
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, application_name="tapwork-outbox-owner"
        )
        try:
            while True:
                row = await (
                    await conn.execute(
                        "SELECT pg_try_advisory_lock(%s, %s)", (OWNER_LOCK_CLASS, self.key)
                    )
                ).fetchone()
                if row is not None and row[0]:
                    break
                self.key = random.randrange(1, 2**31)  # taken by another loop: pick again
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return self.key

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
            self._conn = None


def backoff(attempts: int, settings: Settings, rng: random.Random | None = None) -> timedelta:
    """Delay before attempt `attempts + 1`.

    With `OUTBOX_RETRY_SCHEDULE`, its `attempts`-th delay (the last one repeats) plus up to a
    tenth more: never earlier than the operator wrote, and mail that failed together does
    not retry in lock-step. Else exponential, capped, with equal jitter: half the delay is
    fixed and half random, so the wait never drops below half the nominal delay.
    """
    schedule = settings.outbox_retry_schedule
    if schedule:
        nominal = schedule[min(max(attempts, 1), len(schedule)) - 1]
        return timedelta(seconds=nominal + (rng or random).uniform(0, nominal / 10))
    nominal = min(
        settings.outbox_retry_max_seconds,
        settings.outbox_retry_base_seconds * 2 ** max(attempts - 1, 0),
    )
    jitter = (rng or random).uniform(0, nominal / 2)
    return timedelta(seconds=nominal / 2 + jitter)


def _abandoned(now: datetime) -> Any:
    """Leased rows whose lease ran out, or whose owner's lock is gone (it died)."""
    return and_(
        OutboxEmail.status == "sending",
        or_(
            OutboxEmail.locked_until < now,
            and_(OutboxEmail.claimed_by.is_not(None), _OWNER_GONE),
        ),
    )


def _due(now: datetime) -> Any:
    # Never-attempted mail is due at once whatever clock wrote it (rows get the database's
    # now() on insert; retries are scheduled on the worker's clock).
    return or_(
        and_(
            OutboxEmail.status == "queued",
            or_(OutboxEmail.attempts == 0, OutboxEmail.next_attempt_at <= now),
        ),
        _abandoned(now),
    )


_OUTBOX = cast(Table, OutboxEmail.__table__)
_GAVE_UP = "worker stopped while sending; attempts exhausted"
# One statement for a whole group, arrays in three parameters: executemany would send one
# UPDATE per row, and the ORM's bulk path costs more CPU than the send it records. "Still
# sending" is spelled `(...) IS TRUE` (the same test) so that the planner cannot answer it
# from the status indexes: on a burst's stale statistics it read every `sending` row through
# them and hash-joined (3 ms per group of ten) instead of ten primary-key probes (0.3 ms).
_MARK_SENT = text(
    """
    UPDATE email_outbox o
    SET status = 'sent', sent_at = s.sent_at, subject = s.subject, locked_until = NULL
    FROM unnest(CAST(:ids AS uuid[]), CAST(:subjects AS text[]),
                CAST(:sent_at AS timestamptz[])) AS s(id, subject, sent_at)
    WHERE o.id = s.id AND (o.status = 'sending') IS TRUE
    """
)


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    settings: Settings,
    owner: int | None = None,
) -> list[Claimed]:
    """Lease up to `limit` due rows to the caller. Commit right after: the lease is the lock.

    A row whose lease ran out on its last allowed attempt (its worker died sending it) is
    given up in the same statement instead of leased: marked `failed`, not returned."""
    # Core statements on the table, not the ORM entity: the ORM's bulk-update path costs
    # more CPU per batch than the SQL itself. One statement: the give-up used to be an UPDATE
    # of its own before every claim (a second pg_locks read and round trip per batch).
    due = (
        select(
            _OUTBOX.c.id,
            # `attempts` first: the owner test (a pg_locks read) runs only for such rows.
            and_(_OUTBOX.c.attempts >= settings.outbox_max_attempts, _abandoned(now)).label(
                "exhausted"
            ),
        )
        .where(_due(now))
        # The order of the partial index `ix_email_outbox_due`: the scan stops after `limit`
        # rows instead of sorting the whole backlog (0.07 ms vs 150 ms at 50k queued).
        .order_by(_OUTBOX.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    exhausted = due.c.exhausted
    # On the session's connection: the same transaction without the ORM's execute path.
    connection = await session.connection()
    # Walk `ix_email_outbox_due` in order and stop after `limit`, whatever the statistics
    # say. In a burst they are stale (the due part of the table grows from none to thousands
    # of rows between two autoanalyze runs): planning for a few dozen due rows, PostgreSQL
    # read every due row through a bitmap and sorted them (12 ms per claim with 6,000 due,
    # measured in bench/rush.py). With sorting priced out, the ordered index walk is the plan.
    await connection.exec_driver_sql("SET LOCAL enable_sort = off")
    rows = await connection.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id == due.c.id)
        .values(
            status=case((exhausted, "failed"), else_="sending"),
            locked_until=case(
                (exhausted, None),
                else_=now + timedelta(seconds=settings.outbox_lease_seconds),
            ),
            attempts=case((exhausted, _OUTBOX.c.attempts), else_=_OUTBOX.c.attempts + 1),
            claimed_by=case((exhausted, _OUTBOX.c.claimed_by), else_=owner),
            last_error=case((exhausted, _GAVE_UP), else_=_OUTBOX.c.last_error),
        )
        .returning(
            _OUTBOX.c.id,
            _OUTBOX.c.kind,
            _OUTBOX.c.to_address,
            _OUTBOX.c.context,
            _OUTBOX.c.attempts,
            _OUTBOX.c.created_at,
            _OUTBOX.c.user_id,
            exhausted,
            # A primary-key probe per row: cheaper than a join in an UPDATE ... RETURNING.
            select(User.language)
            .where(User.id == _OUTBOX.c.user_id)
            .scalar_subquery()
            .label("language"),
        )
    )
    claimed = sorted((r for r in rows.all() if not r.exhausted), key=lambda r: (r.created_at, r.id))
    out = []
    for r in claimed:
        context = dict(r.context or {})
        language = i18n.supported(context.get("language") or r.language)
        out.append(Claimed(r.id, r.kind, r.to_address, context, r.attempts, r.user_id, language))
    return out


async def mark_sent(session: AsyncSession, sent: list[tuple[Claimed, str, datetime]]) -> None:
    """Record delivered rows: (row, rendered subject, sent at). One statement for all."""
    if not sent:
        return
    connection = await session.connection()  # Core: the ORM's execute path costs more
    await connection.execute(
        _MARK_SENT,
        {
            "ids": [row.id for row, _, _ in sent],
            "subjects": [subject for _, subject, _ in sent],
            "sent_at": [at for _, _, at in sent],
        },
    )


async def mark_attempt_failed(
    session: AsyncSession,
    row: Claimed,
    error: str,
    *,
    now: datetime,
    settings: Settings,
    permanent: bool = False,
    rng: random.Random | None = None,
) -> str:
    """Schedule the next attempt, or give up. Returns the new status."""
    give_up = permanent or row.attempts >= settings.outbox_max_attempts
    values: dict[str, Any] = {"last_error": error[:ERROR_MAX], "locked_until": None}
    if give_up:
        values["status"] = "failed"
    else:
        values["status"] = "queued"
        values["next_attempt_at"] = now + backoff(row.attempts, settings, rng)
    result = await session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == row.id, OutboxEmail.status == "sending")
        .values(**values)
    )
    if give_up and not permanent and result.rowcount:  # type: ignore[attr-defined]
        # Retries exhausted: the relay (or the network to it) has been failing for about an
        # hour. Admins hear about it once; it clears when mail is delivered again.
        await incidents.raise_incident(
            session,
            UNDELIVERABLE,
            code=UNDELIVERABLE,  # the key and the code: one incident for all mail
            params={"address": row.to_address, "attempts": row.attempts, "error": error[:500]},
            now=now,
        )
    return str(values["status"])


async def release(session: AsyncSession, rows: list[Claimed]) -> None:
    """Hand back claimed rows that were not tried (stopping, or the lease ran short)."""
    if not rows:
        return
    await session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id.in_([r.id for r in rows]), OutboxEmail.status == "sending")
        .values(status="queued", locked_until=None, attempts=OutboxEmail.attempts - 1)
    )


async def deliver_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    should_stop: Callable[[], bool] = lambda: False,
    rng: random.Random | None = None,
    owner: int | None = None,
) -> BatchResult:
    """Claim one batch of due mail and try each once. Safe to run in many workers at once.
    `owner`: the caller's `Owner` key (None: the lease alone guards the claim).

    The mails go out in chunks of MARK_SENT_EVERY, each sent from a thread over the batch's
    connection (smtp.Connection) and recorded in one transaction. `should_stop` is called from
    that thread before each mail, so it must be a plain flag read (`asyncio.Event.is_set`).
    The batch's transactions (claim, one per chunk, the closing one) share one database
    connection, checked out once."""
    async with _one_connection(sessionmaker) as maker:
        return await _deliver(
            maker, settings, clock=clock, should_stop=should_stop, rng=rng, owner=owner
        )


@contextlib.asynccontextmanager
async def _one_connection(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on one pooled connection held for the block. A session from the engine
    checks a connection out per transaction, with the pool's pre-ping round trip: ~0.4 ms
    of CPU per transaction, seven transactions per batch of 50. Each session still begins
    and commits its own transaction; between them the connection is idle, never left in a
    transaction while SMTP is spoken. A sessionmaker bound to a connection (the tests'
    rolled-back one) is used as it is."""
    bind = sessionmaker.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        yield sessionmaker
        return
    async with bind.connect() as connection:
        yield async_sessionmaker(
            class_=sessionmaker.class_, **{**sessionmaker.kw, "bind": connection}
        )


async def _deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    should_stop: Callable[[], bool],
    rng: random.Random | None,
    owner: int | None,
) -> BatchResult:
    result = BatchResult()
    async with sessionmaker() as session:
        pending = await claim(
            session, now=clock(), limit=settings.outbox_batch_size, settings=settings, owner=owner
        )
        await session.commit()
    result.claimed = len(pending)
    if not pending:
        return result
    started = time.monotonic()
    # Never start a send that could outlive the lease: another worker would then resend it.
    budget = settings.outbox_lease_seconds - _COMMANDS_PER_SEND * settings.smtp_timeout_seconds
    tried = 0

    def may_start() -> bool:
        nonlocal tried
        if should_stop():
            return False
        # The first send is always made, so a short lease cannot starve the outbox.
        if tried and time.monotonic() - started > budget:
            return False
        tried += 1
        return True

    connection = Connection(settings)
    sender = mime.envelope_sender(settings.mail_from)
    sent: list[tuple[Claimed, str, datetime]] = []
    failures: list[tuple[Claimed, str, bool]] = []  # (row, error, permanent)
    try:
        while pending:
            chunk, pending = pending[:MARK_SENT_EVERY], pending[MARK_SENT_EVERY:]
            built: list[tuple[Claimed, str, Mail]] = []
            for row in chunk:
                try:
                    subject, message = _build(row, settings, now=clock())
                except Exception as exc:
                    # A template or address problem will not fix itself on retry.
                    log.exception("outbox_render_failed", outbox_id=str(row.id), kind=row.kind)
                    failures.append((row, f"render: {describe(exc)}", True))
                    continue
                built.append((row, subject, Mail(sender, row.to_address, message)))
            try:
                outcome = await connection.send([m for _, _, m in built], may_start)
            except asyncio.CancelledError:
                # Stopped from outside: what the relay accepted is still recorded (finally),
                # the rest handed back.
                outcome = connection.interrupted or Outcome(stopped=True)
                pending[:0] = _settle(outcome, built, sent, failures, result, clock())
                raise
            untried = _settle(outcome, built, sent, failures, result, clock())
            if outcome.error is not None:
                # The server is unusable: this mail and every remaining row count the attempt
                # and wait.
                error = f"smtp {settings.smtp_host}:{settings.smtp_port}: {describe(outcome.error)}"
                waiting = [*untried, *pending]
                log.warning("outbox_smtp_unavailable", error=error, waiting=len(waiting))
                failures.extend((other, error, False) for other in waiting)
                pending = []
            elif outcome.stopped:
                pending[:0] = untried
            # Delivered rows are recorded with the chunk's failures, except the last chunk's,
            # which go with the batch's closing statement (finally).
            flush = bool(pending) and not outcome.stopped
            await _record(
                sessionmaker,
                settings,
                sent if flush else [],
                failures,
                result,
                clock=clock,
                rng=rng,
            )
            if outcome.stopped:
                break
    finally:
        await _record(sessionmaker, settings, [], failures, result, clock=clock, rng=rng)
        await _record_sent(sessionmaker, sent, delivered_at=clock() if result.sent else None)
        if pending:
            result.released = len(pending)
            async with sessionmaker() as session:
                await release(session, pending)
                await session.commit()
        await connection.close()
    if result.failed or result.retrying:
        log.warning("outbox_batch", **_summary(result))
    else:
        log.info("outbox_batch", **_summary(result))
    return result


def _settle(
    outcome: Outcome,
    built: list[tuple[Claimed, str, Mail]],
    sent: list[tuple[Claimed, str, datetime]],
    failures: list[tuple[Claimed, str, bool]],
    result: BatchResult,
    now: datetime,
) -> list[Claimed]:
    """Sort a chunk's replies into `sent` and `failures`; returns the rows not answered (the
    first of them met `outcome.error`, if any)."""
    for (row, subject, _), refusal in zip(built, outcome.replies, strict=False):
        if refusal is None:
            result.sent += 1
            sent.append((row, subject, now))
        else:
            log.warning(
                "outbox_refused",
                outbox_id=str(row.id),
                error=str(refusal),
                permanent=refusal.permanent,
            )
            failures.append((row, f"smtp refused: {refusal}", refusal.permanent))
    return [row for row, _, _ in built[len(outcome.replies) :]]


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    sent: list[tuple[Claimed, str, datetime]],
    failures: list[tuple[Claimed, str, bool]],
    result: BatchResult,
    *,
    clock: Callable[[], datetime],
    rng: random.Random | None,
) -> None:
    """One transaction for a chunk: its delivered rows (then forgotten) and its failures."""
    if not sent and not failures:
        return
    async with sessionmaker() as session:
        await mark_sent(session, sent)
        for row, error, permanent in failures:
            status = await mark_attempt_failed(
                session, row, error, now=clock(), settings=settings, permanent=permanent, rng=rng
            )
            result.retrying += status == "queued"
            result.failed += status == "failed"
        await session.commit()
    sent.clear()
    failures.clear()


async def _record_sent(
    sessionmaker: async_sessionmaker[AsyncSession],
    sent: list[tuple[Claimed, str, datetime]],
    *,
    delivered_at: datetime | None = None,
) -> None:
    """Record delivered rows; with `delivered_at` (once per batch that delivered anything)
    also close the `mail.undeliverable` incident, whose cause has cleared."""
    if not sent and delivered_at is None:
        return
    async with sessionmaker() as session:
        await mark_sent(session, sent)
        if delivered_at is not None:
            await incidents.clear_incident(session, UNDELIVERABLE, now=delivered_at)
        await session.commit()
    sent.clear()


def _summary(result: BatchResult) -> dict[str, Any]:
    return {
        "claimed": result.claimed,
        "sent": result.sent,
        "retrying": result.retrying,
        "failed": result.failed,
        "released": result.released,
    }


def _build(row: Claimed, settings: Settings, *, now: datetime) -> tuple[str, bytes]:
    """The rendered subject and the wire form of one row's mail."""
    # Optional kinds to a user carry a signed one-click way out (RFC 8058).
    leave = unsubscribe.url(row.user_id, row.kind, settings) if row.user_id else ""
    rendered = render(
        row.kind, row.context, settings=settings, language=row.language, unsubscribe_url=leave
    )
    headers = (
        (("List-Unsubscribe", f"<{leave}>"), ("List-Unsubscribe-Post", ONE_CLICK)) if leave else ()
    )
    message = mime.build(
        rendered,
        to=row.to_address,
        sender=settings.mail_from,
        message_id=str(row.id),
        date=now,
        domain=sender_domain(settings.mail_from),
        language=row.language,
        extra_headers=headers,
    )
    return rendered.subject, message


async def prune_sent(session: AsyncSession, *, now: datetime, retention_days: int) -> int:
    """Delete mail delivered more than `retention_days` ago. Failed mail is kept for review."""
    result = await session.execute(
        delete(OutboxEmail).where(
            OutboxEmail.status == "sent",
            OutboxEmail.sent_at < now - timedelta(days=retention_days),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
