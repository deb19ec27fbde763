"""The silent-kiosk incident: a paired kiosk that is not heard from for KIOSK_SILENT_MINUTES
while its location is open alerts admins once, and the incident closes when it is heard again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.holiday.models import Holiday
from tapwork.kiosk.health import Hours, open_since
from tapwork.kiosk.jobs import watch_kiosks
from tapwork.kiosk.models import Kiosk
from tapwork.kit.security import hash_token, new_token
from tapwork.location.models import Location
from tapwork.notification import delivery, incidents
from tapwork.notification.models import Incident, OutboxEmail
from tapwork.worker import jobs
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org
from tests.support.smtp import SmtpServer, body_text

MADRID = ZoneInfo("Europe/Madrid")
DAY = Hours(time(9), time(17), frozenset({1, 2, 3, 4, 5}))
NIGHT = Hours(time(22), time(6), frozenset({1, 2, 3, 4, 5}))


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026 in Madrid (UTC+1; the 2nd is a Monday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "hours", "holidays", "expected"),
    [
        (_at(2, 8, 59), [DAY], [], None),  # Monday before the shift
        (_at(2, 9, 0), [DAY], [], _at(2, 9)),
        (_at(2, 16, 59), [DAY], [], _at(2, 9)),
        (_at(2, 17, 0), [DAY], [], None),
        (_at(7, 12), [DAY], [], None),  # Saturday
        (_at(2, 12), [DAY], [date(2026, 3, 2)], None),  # a holiday
        (_at(2, 23), [NIGHT], [], _at(2, 22)),
        (_at(3, 2), [NIGHT], [], _at(2, 22)),  # Monday's night shift, after midnight
        (_at(2, 2), [NIGHT], [], None),  # Sunday night: Sunday is no working day
        (_at(7, 2), [NIGHT], [], _at(6, 22)),  # Friday's night shift runs into Saturday
        (_at(3, 2), [NIGHT], [date(2026, 3, 2)], None),  # it started on a holiday
        (_at(2, 12), [DAY, Hours(time(11), time(14), frozenset({1}))], [], _at(2, 9)),
        (_at(2, 12), [], [], None),  # nobody works there: never open
    ],
)
def test_a_location_is_open_while_a_shift_of_its_people_runs(
    now: datetime, hours: list[Hours], holidays: list[date], expected: datetime | None
) -> None:
    assert open_since(now, MADRID, hours, frozenset(holidays)) == expected


def test_opening_follows_the_local_clock_across_daylight_saving() -> None:
    # Sunday 29 March 2026 Madrid moves to UTC+2: Monday's 09:00 is 07:00 UTC.
    monday = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert open_since(monday, MADRID, [DAY], frozenset()) == monday
    assert open_since(monday - timedelta(minutes=1), MADRID, [DAY], frozenset()) is None


@dataclass
class Site:
    location: Location
    kiosk: Kiosk


@pytest.fixture
async def site(session: AsyncSession, org: Org, clock: FrozenClock) -> Site:
    """A Madrid site open 09:00-17:00 on weekdays (its one employee's shift), with a kiosk
    last heard from on Friday evening. The clock starts Monday 2 March 09:00 Madrid."""
    location = await f.make_location(session, name="Silent site", timezone="Europe/Madrid")
    shift = await f.make_shift(session, start=time(9), end=time(17))
    await f.make_user(session, shift=shift, location=location)
    await f.make_user(
        session,
        shift=await f.make_shift(session, start=time(6), end=time(7)),
        location=location,
        active=False,
    )  # an inactive user's shift does not count
    kiosk = Kiosk(
        name="Gate 3",
        location_id=location.id,
        token_hash=hash_token(new_token()),
        paired_at=_at(1, 12),
        last_seen_at=datetime(2026, 2, 27, 17, tzinfo=MADRID),  # Friday evening
    )
    session.add(kiosk)
    await session.flush()
    await session.refresh(kiosk, ["location"])
    clock.set(_at(2, 9))
    return Site(location, kiosk)


async def _incidents(session: AsyncSession) -> list[Incident]:
    rows = await session.scalars(
        select(Incident)
        .where(Incident.key.startswith("kiosk.silent."))
        .order_by(Incident.opened_at)
    )
    return list(rows.all())


async def _alerts(session: AsyncSession) -> list[OutboxEmail]:
    rows = await session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "admin_alert"))
    return list(rows.all())


async def test_silent_in_opening_hours_alerts_admins_once_and_closes_when_heard_again(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    org: Org,
    site: Site,
    smtp: SmtpServer,
) -> None:
    # Off all weekend, on at 09:00: not silent until it has missed 15 minutes of opening.
    clock.set(_at(2, 9, 14))
    assert await watch_kiosks(session, now=clock(), settings=settings) == 0
    assert await _incidents(session) == []

    clock.set(_at(2, 9, 15))
    assert await watch_kiosks(session, now=clock(), settings=settings) == 1
    for minutes in (16, 30, 45):  # the watch runs every minute: still one incident, one mail
        clock.set(_at(2, 9, minutes))
        assert await watch_kiosks(session, now=clock(), settings=settings) == 1
    [incident] = await _incidents(session)
    assert incident.key == f"kiosk.silent.{site.kiosk.id}"
    assert incident.closed_at is None
    assert [m.to_address for m in await _alerts(session)] == [org.admin.email]
    await session.commit()
    await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=random.Random(1))
    [mail] = [m for m in smtp.inbox.wait_for(org.admin.email) if "Gate 3" in str(m["Subject"])]
    assert mail["Subject"] == "Kiosk silent: Gate 3 (Silent site)"
    assert "Last seen: 27 Feb 2026, 17:00 (Europe/Madrid)." in body_text(mail)
    assert "15 min or more" in body_text(mail)

    site.kiosk.last_seen_at = _at(2, 9, 50)  # a scan or the app's refresh
    clock.set(_at(2, 9, 51))
    assert await watch_kiosks(session, now=clock(), settings=settings) == 0
    [incident] = await _incidents(session)
    assert incident.closed_at == clock()
    assert len(await _alerts(session)) == 1

    # Silent again later that day: a new incident and a new alert.
    clock.set(_at(2, 10, 5))
    assert await watch_kiosks(session, now=clock(), settings=settings) == 1
    assert len(await _incidents(session)) == 2
    assert len(await _alerts(session)) == 2


async def test_no_alert_outside_opening_hours_or_on_a_holiday(
    session: AsyncSession, settings: Settings, clock: FrozenClock, site: Site
) -> None:
    site.kiosk.last_seen_at = _at(2, 16)
    for now in (_at(2, 20), _at(3, 3), _at(7, 12)):  # evening, night, Saturday
        assert await watch_kiosks(session, now=now, settings=settings) == 0
    session.add(Holiday(holiday_date=date(2026, 3, 3), name="Fiesta", location_id=site.location.id))
    await session.flush()
    assert await watch_kiosks(session, now=_at(3, 12), settings=settings) == 0
    assert await _incidents(session) == []
    # The next working day it counts again.
    assert await watch_kiosks(session, now=_at(4, 9, 15), settings=settings) == 1


async def test_the_threshold_is_configurable(
    session: AsyncSession, settings: Settings, site: Site
) -> None:
    settings.kiosk_silent_minutes = 60
    assert await watch_kiosks(session, now=_at(2, 9, 59), settings=settings) == 0
    assert await watch_kiosks(session, now=_at(2, 10), settings=settings) == 1


async def test_kiosks_never_heard_from_unpaired_or_revoked_are_not_watched(
    session: AsyncSession, settings: Settings, site: Site
) -> None:
    session.add(Kiosk(name="In its box", location_id=site.location.id, token_hash="x" * 64))
    await session.flush()
    assert await watch_kiosks(session, now=_at(2, 9, 15), settings=settings) == 1

    site.kiosk.revoked_at = _at(2, 9, 20)  # an open incident closes with its kiosk
    await session.flush()
    assert await watch_kiosks(session, now=_at(2, 9, 21), settings=settings) == 0
    [incident] = await _incidents(session)
    assert incident.closed_at == _at(2, 9, 21)


def test_the_watch_runs_every_minute_in_the_worker() -> None:
    periodic = {
        task.periodic_id: task.cron for task in jobs.app.periodic_registry.periodic_tasks.values()
    }
    assert periodic["watch_kiosks"] == "* * * * *"


async def test_admins_list_open_and_recently_closed_incidents(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, settings: Settings, site: Site
) -> None:
    await watch_kiosks(session, now=_at(2, 9, 15), settings=settings)
    await incidents.raise_incident(
        session, "job.x", code="job.failed", params={"task": "x"}, now=_at(2, 9, 20)
    )
    await incidents.clear_incident(session, "job.x", now=_at(2, 9, 30))
    long_ago = datetime(2026, 2, 25, 9, tzinfo=MADRID)
    await incidents.raise_incident(
        session, "job.y", code="job.failed", params={"task": "y"}, now=long_ago
    )
    await incidents.clear_incident(session, "job.y", now=long_ago + timedelta(hours=1))
    url = "/api/v1/notifications/incidents"
    headers = org.headers(org.admin)

    open_only = (await client.get(url, headers=headers)).json()
    recent = (await client.get(url, params={"closed_within_days": 1}, headers=headers)).json()

    assert [i["key"] for i in open_only] == [f"kiosk.silent.{site.kiosk.id}"]
    assert open_only[0]["closed_at"] is None
    assert [i["key"] for i in recent] == [f"kiosk.silent.{site.kiosk.id}", "job.x"]
    assert recent[1]["closed_at"] is not None
    for bad in ("-1", "91", "x"):
        response = await client.get(url, params={"closed_within_days": bad}, headers=headers)
        assert response.status_code == 422
    assert (await client.get(url, headers=org.headers(org.hr))).status_code == 403
