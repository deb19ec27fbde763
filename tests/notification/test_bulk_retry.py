"""POST /api/v1/notifications/retry: after a long relay outage an admin queues every failed
mail (or those of one kind, recipient or time window) again in one call."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.audit.models import AuditLog
from tapwork.config import Settings
from tapwork.notification import delivery
from tapwork.notification.models import OutboxEmail
from tests.support.clock import FrozenClock
from tests.support.personas import Org
from tests.support.smtp import SmtpServer

URL = "/api/v1/notifications/retry"


async def _outage(session: AsyncSession, clock: FrozenClock) -> list[OutboxEmail]:
    """Mail that gave up during an outage overnight, plus one sent and one queued."""
    base = clock()
    rows = [
        OutboxEmail(
            kind=kind,
            to_address=f"bulk.{name}@example.com",
            status="failed",
            attempts=8,
            last_error="smtp 127.0.0.1:25: Connect call failed",
            created_at=base - timedelta(hours=hours),
        )
        for kind, name, hours in [
            ("password_reset", "ana", 10),
            ("late_alert", "bob", 9),
            ("late_alert", "cy", 6),
            ("attendance_confirmation", "dee", 3),
        ]
    ]
    rows.append(OutboxEmail(kind="welcome", to_address="bulk.eve@example.com", status="sent"))
    rows.append(OutboxEmail(kind="late_alert", to_address="bulk.fay@example.com"))
    session.add_all(rows)
    await session.flush()
    return rows


async def _failed(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status == "failed")
        )
        or 0
    )


async def test_admin_requeues_every_failed_mail_and_the_worker_delivers_them(
    client: httpx.AsyncClient,
    org: Org,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    await _outage(session, clock)
    await session.commit()
    headers = org.headers(org.admin)

    preview = await client.post(URL, json={"dry_run": True}, headers=headers)

    assert preview.status_code == 200, preview.text
    assert preview.json() == {"requeued": 4, "dry_run": True}
    assert await _failed(session) == 4  # a dry run changes nothing
    assert (
        await session.scalar(select(AuditLog).where(AuditLog.action == "notification.retry_bulk"))
        is None
    )

    response = await client.post(URL, json={}, headers=headers)

    assert response.json() == {"requeued": 4, "dry_run": False}
    assert await _failed(session) == 0
    entry = await session.scalar(
        select(AuditLog).where(AuditLog.action == "notification.retry_bulk")
    )
    assert entry is not None
    assert entry.actor_id == org.admin.id
    assert entry.new_values == {"filter": {}, "requeued": 4}

    result = await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=random.Random(1))

    assert result.sent == 5  # the four retried and the one that was queued anyway
    for name in ("ana", "bob", "cy", "dee"):
        smtp.inbox.wait_for(f"bulk.{name}@example.com")
    rows = (
        await session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "late_alert"))
    ).all()
    assert all(r.status == "sent" for r in rows)
    assert {r.attempts for r in rows} == {1}  # a fresh series: the retried were at 8


async def test_filters_pick_the_kind_recipient_and_window(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    rows = await _outage(session, clock)
    headers = org.headers(org.admin)
    since = (clock() - timedelta(hours=9, minutes=30)).isoformat()
    until = (clock() - timedelta(hours=5)).isoformat()

    async def count(**body: object) -> int:
        response = await client.post(URL, json={"dry_run": True, **body}, headers=headers)
        assert response.status_code == 200, response.text
        return int(response.json()["requeued"])

    assert await count(kind="late_alert") == 2  # the queued late alert is not failed
    assert await count(to="BULK.ANA") == 1
    assert await count(since=since) == 3
    assert await count(since=since, until=until) == 2
    assert await count(kind="late_alert", since=since, until=until) == 2
    # The list answers the same window, so the page shows what a retry would take.
    listed = await client.get(
        "/api/v1/notifications",
        params={"status": "failed", "since": since, "until": until},
        headers=headers,
    )
    assert listed.json()["total"] == 2

    response = await client.post(URL, json={"kind": "late_alert"}, headers=headers)

    assert response.json()["requeued"] == 2
    for row in rows:
        await session.refresh(row)
    assert [r.status for r in rows[:4]] == ["failed", "queued", "queued", "failed"]


async def test_refuses_bad_filters_with_the_field(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    await _outage(session, clock)
    headers = org.headers(org.admin)
    cases: list[dict[str, object]] = [
        {"kind": "telegram"},
        {"status": "sent"},  # only failed mail is retried; other keys are typos
        {"since": "0001-01-01T00:00:00Z"},
        {"since": "2026-03-02"},
        {"since": "2026-03-02T08:00:00Z", "until": "2026-03-02T07:00:00Z"},
        {"to": "x" * 101},
        {"dry_run": "maybe"},
    ]
    for body in cases:
        response = await client.post(URL, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert await _failed(session) == 4


async def test_hr_can_read_but_not_retry_in_bulk(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    await _outage(session, clock)

    response = await client.post(URL, json={}, headers=org.headers(org.hr))

    assert response.status_code == 403
    assert await _failed(session) == 4
