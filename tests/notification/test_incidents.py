"""Incidents: admins are alerted once per incident, see the open ones, and they close
themselves when the cause clears (mail undeliverable, a failing scheduled job)."""

from __future__ import annotations

import random

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.notification import delivery, incidents
from tapwork.notification.jobs import watch_jobs
from tapwork.notification.kinds import Kind
from tapwork.notification.models import Incident, OutboxEmail
from tapwork.notification.service import enqueue
from tests.support.clock import FrozenClock
from tests.support.factories import make_user
from tests.support.personas import Org
from tests.support.smtp import SmtpServer, body_html, body_text

Maker = async_sessionmaker[AsyncSession]
DOWN = {"since": "2026-03-02T08:05:00+00:00", "reason": "timeout"}


async def _alerts(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(OutboxEmail.to_address).where(OutboxEmail.kind == Kind.ADMIN_ALERT.value)
    )
    return sorted(rows.all())


async def test_one_alert_per_incident_to_admins_only_and_it_closes_when_cleared(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    first = await incidents.raise_incident(
        session, "biometric.down", code="biometric.down", params=DOWN, now=clock()
    )
    clock.advance(minutes=5)
    again = await incidents.raise_incident(
        session, "biometric.down", code="biometric.down", params=DOWN, now=clock()
    )
    assert first is not None
    assert again is None
    assert await _alerts(session) == [org.admin.email]

    listed = await client.get("/api/v1/notifications/incidents", headers=org.headers(org.admin))
    assert listed.status_code == 200
    [shown] = listed.json()
    assert shown["key"] == "biometric.down"
    assert shown["last_seen_at"] > shown["opened_at"]

    assert await incidents.clear_incident(session, "biometric.down", now=clock())
    assert not await incidents.clear_incident(session, "biometric.down", now=clock())
    closed = await client.get("/api/v1/notifications/incidents", headers=org.headers(org.admin))
    assert closed.json() == []
    # The same cause later is a new incident, and a new alert.
    assert await incidents.raise_incident(
        session, "biometric.down", code="biometric.down", params=DOWN, now=clock()
    )
    assert await _alerts(session) == [org.admin.email, org.admin.email]


async def test_mail_giving_up_raises_an_incident_that_delivery_clears(
    org: Org, session: AsyncSession, sessionmaker: Maker, settings: Settings,
    clock: FrozenClock, closed_port: int, smtp: SmtpServer,
) -> None:  # fmt: skip
    settings.outbox_max_attempts = 1
    relay = settings.smtp_port
    settings.smtp_port = closed_port
    await enqueue(session, Kind.PASSWORD_RESET, to="lost@example.com", context={})
    await enqueue(session, Kind.PASSWORD_RESET, to="lost2@example.com", context={})
    await session.commit()

    result = await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=random.Random(1))

    assert result.failed == 2
    [incident] = (await session.scalars(select(Incident))).all()
    assert (incident.key, incident.closed_at) == ("mail.undeliverable", None)
    assert "lost" in incident.message
    assert await _alerts(session) == [org.admin.email]  # one incident, one alert

    settings.smtp_port = relay
    await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=random.Random(1))
    [alert] = smtp.inbox.wait_for(org.admin.email)
    assert alert["Subject"] == "Email cannot be delivered"
    await session.refresh(incident)
    assert incident.closed_at == clock()


async def test_a_failing_scheduled_job_is_an_incident_until_it_next_succeeds(
    org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    insert = text(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args) "
        "VALUES ('default', :task, :status, '{}')"
    )
    await session.execute(insert, {"task": "reports.nightly", "status": "succeeded"})
    await session.execute(insert, {"task": "reports.nightly", "status": "failed"})

    assert (await watch_jobs(session, now=clock()))["reports.nightly"] == "failed"
    assert await watch_jobs(session, now=clock())
    [incident] = (await session.scalars(select(Incident))).all()
    assert incident.key == "job.reports.nightly"
    assert await _alerts(session) == [org.admin.email]

    await session.execute(insert, {"task": "reports.nightly", "status": "succeeded"})
    await watch_jobs(session, now=clock())
    await session.refresh(incident)
    assert incident.closed_at is not None


async def test_each_admin_is_alerted_in_their_language(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, sessionmaker: Maker,
    settings: Settings, clock: FrozenClock, smtp: SmtpServer,
) -> None:  # fmt: skip
    spanish = await make_user(session, role_name="admin", first_name="Ana")
    spanish.language = "es"
    since = clock().isoformat()
    await incidents.raise_incident(
        session, "biometric.down", code="biometric.down", params={"since": since}, now=clock()
    )
    await session.commit()

    await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=random.Random(1))

    [english] = smtp.inbox.wait_for(org.admin.email)
    [castellano] = smtp.inbox.wait_for(spanish.email)
    assert english["Subject"] == "Biometric service unreachable"
    assert castellano["Subject"] == "Servicio biométrico inaccesible"
    assert "Hello Alex," in body_text(english)
    assert "(no answer). Scans continue on badges alone" in body_text(english)
    assert "Hola, Ana:" in body_text(castellano)
    assert "(sin respuesta). Los fichajes continúan solo con la tarjeta" in body_text(castellano)
    assert "Scans continue" not in body_text(castellano) + body_html(castellano)
    assert "Los fichajes continúan" in body_html(castellano)
    # The API keeps the English text for its clients, beside the code and params.
    [listed] = (
        await client.get("/api/v1/notifications/incidents", headers=org.headers(org.admin))
    ).json()
    assert (listed["code"], listed["params"]) == ("biometric.down", {"since": since})
    assert listed["subject"] == "Biometric service unreachable"
