"""GET /api/v1/notifications (delivery status) and POST /api/v1/notifications/{id}/retry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.audit.models import AuditLog
from tapwork.config import Settings
from tapwork.notification import delivery
from tapwork.notification.models import OutboxEmail
from tests.support.clock import FrozenClock
from tests.support.personas import Org
from tests.support.smtp import SmtpServer

URL = "/api/v1/notifications"


async def _outbox(session: AsyncSession, clock: FrozenClock) -> dict[str, OutboxEmail]:
    base = clock()
    rows = {
        "old_sent": OutboxEmail(
            kind="welcome",
            to_address="ana@example.com",
            status="sent",
            attempts=1,
            sent_at=base,
            created_at=base - timedelta(hours=3),
        ),
        "failed": OutboxEmail(
            kind="password_reset",
            to_address="bob@example.com",
            status="failed",
            attempts=8,
            last_error="smtp down",
            created_at=base - timedelta(hours=2),
        ),
        "queued": OutboxEmail(
            kind="late_alert",
            to_address="ana.boss@example.com",
            created_at=base - timedelta(hours=1),
        ),
    }
    session.add_all(rows.values())
    await session.flush()
    return rows


async def test_lists_delivery_status_newest_first(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    rows = await _outbox(session, clock)

    response = await client.get(URL, headers=org.headers(org.hr))

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert [i["id"] for i in body["items"]] == [
        str(rows["queued"].id),
        str(rows["failed"].id),
        str(rows["old_sent"].id),
    ]
    failed = body["items"][1]
    assert failed["kind"] == "password_reset"
    assert failed["to"] == "bob@example.com"
    assert (failed["status"], failed["attempts"], failed["last_error"]) == (
        "failed",
        8,
        "smtp down",
    )
    assert failed["sent_at"] is None
    assert body["items"][2]["sent_at"] is not None
    assert set(failed) >= {
        "id",
        "kind",
        "to",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    }


async def test_filters_by_status_kind_and_recipient(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    rows = await _outbox(session, clock)
    headers = org.headers(org.admin)

    async def ids(**params: str) -> list[str]:
        response = await client.get(URL, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert await ids(status="failed") == [str(rows["failed"].id)]
    assert await ids(kind="welcome") == [str(rows["old_sent"].id)]
    assert await ids(to="ANA") == [str(rows["queued"].id), str(rows["old_sent"].id)]
    assert await ids(to="ana", status="sent") == [str(rows["old_sent"].id)]
    assert await ids(to="%") == []  # wildcards are literal
    assert await ids(limit="1", page="2") == [str(rows["failed"].id)]


async def test_refuses_unknown_filter_values(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.hr)
    for params in ({"status": "lost"}, {"kind": "telegram"}, {"to": "a\x00b"}, {"to": "x" * 101}):
        response = await client.get(URL, params=params, headers=headers)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_admin_retries_a_failed_mail_and_it_is_delivered(
    client: httpx.AsyncClient,
    org: Org,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    smtp: SmtpServer,
) -> None:
    failed = (await _outbox(session, clock))["failed"]
    await session.commit()

    response = await client.post(f"{URL}/{failed.id}/retry", headers=org.headers(org.admin))

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["attempts"]) == ("queued", 0)
    assert response.json()["last_error"] == "smtp down"  # kept until the next outcome
    entry = await session.scalar(select(AuditLog).where(AuditLog.action == "notification.retry"))
    assert entry is not None
    assert entry.resource_id == str(failed.id)
    assert entry.actor_id == org.admin.id
    assert (entry.old_values or {})["status"] == "failed"
    assert (entry.new_values or {})["status"] == "queued"

    result = await delivery.deliver_batch(sessionmaker, settings, clock=clock)

    assert result.sent == 2  # the retried mail and the one that was already queued
    [message] = smtp.inbox.wait_for("bob@example.com")
    assert message["Subject"] == "Reset your TAPWORK password"


async def test_only_failed_mail_can_be_retried(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    rows = await _outbox(session, clock)
    headers = org.headers(org.admin)

    for name in ("old_sent", "queued"):
        response = await client.post(f"{URL}/{rows[name].id}/retry", headers=headers)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "NOTIFICATION_NOT_FAILED"
    response = await client.post(f"{URL}/{uuid.uuid4()}/retry", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOTIFICATION_NOT_FOUND"


async def test_hr_reads_but_cannot_retry(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    failed = (await _outbox(session, clock))["failed"]

    response = await client.post(f"{URL}/{failed.id}/retry", headers=org.headers(org.hr))

    assert response.status_code == 403
    await session.refresh(failed)
    assert failed.status == "failed"
