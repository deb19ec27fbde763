"""Scan rejections, offline captures and held scans, through the endpoint."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.badge import service as badge_service
from tapwork.badge.models import Badge
from tapwork.kit.actor import SYSTEM
from tapwork.notification.models import OutboxEmail
from tests.attendance.conftest import AtMadrid, Scanner, badge_code
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_badge_rejections_are_distinct(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    code = await badge_code(session, org.employee, org.settings, clock())
    await badge_service.regenerate(session, org.employee, actor=SYSTEM, now=clock(),
                                   settings=org.settings)  # fmt: skip
    await session.flush()
    assert code_of(await scanner.scan(code)) == "BADGE_SUPERSEDED"

    other = await badge_code(session, org.outsider, org.settings, clock())
    await badge_service.revoke(session, org.outsider, actor=SYSTEM, now=clock())
    await session.flush()
    revoked = await scanner.scan(other)
    assert revoked.status_code == 403
    assert code_of(revoked) == "BADGE_REVOKED"

    expiring = await badge_code(session, org.supervisor, org.settings, clock())
    await session.execute(
        update(Badge).where(Badge.code_data == expiring).values(expires_at=clock())
    )
    assert code_of(await scanner.scan(expiring)) == "BADGE_EXPIRED"

    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert code_of(await scanner.scan(tampered)) == "INVALID_QR_CODE"
    count = await session.scalar(select(func.count()).select_from(AttendanceRecord))
    assert count == 0


async def test_inactive_or_unverified_user_cannot_scan(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    inactive = await f.make_user(session, active=False, shift=org.shift, location=org.location)
    unverified = await f.make_user(session, verified=False)
    for user in (inactive, unverified):
        response = await scanner.scan(await badge_code(session, user, org.settings, clock()))
        assert response.status_code == 403
        assert code_of(response) == "USER_INACTIVE"


async def test_badge_rate_limit(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    org.settings.rate_limit_scan_per_badge_per_minute = 3
    code = await badge_code(session, org.employee, org.settings, clock())
    statuses = [(await scanner.scan(code)).status_code for _ in range(3)]
    assert statuses == [200, 409, 409]  # check-in, then duplicates within the debounce
    limited = await scanner.scan(code)
    assert limited.status_code == 429
    assert code_of(limited) == "RATE_LIMITED"
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" in limited.headers
    clock.advance(minutes=1)
    assert (await scanner.scan(code)).status_code == 200


async def test_kiosk_rate_limit(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    org.settings.rate_limit_scan_per_kiosk_per_minute = 2
    for _ in range(2):
        assert (await scanner.scan("not a badge")).status_code == 400
    assert (await scanner.scan("not a badge")).status_code == 429


async def test_offline_scan_counts_at_capture_time(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock, at_madrid: AtMadrid
) -> None:
    at_madrid(2026, 3, 2, 12, 0)
    code = await badge_code(session, org.employee, org.settings, clock())
    captured = clock() - timedelta(hours=3)  # 09:00 local: on time
    response = await scanner.scan(code, captured_at=captured)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "on_time"
    assert body["source"] == "offline"
    record = await session.get(AttendanceRecord, body["record_id"])
    assert record is not None
    assert record.check_in_at == captured
    assert record.source == "offline"


async def test_out_of_range_offline_scans_are_held_for_review(
    scanner: Scanner, client: httpx.AsyncClient, org: Org, session: AsyncSession,
    clock: FrozenClock,
) -> None:  # fmt: skip
    code = await badge_code(session, org.employee, org.settings, clock())
    old = clock() - timedelta(hours=org.settings.offline_max_age_hours, minutes=1)
    held = await scanner.scan(code, captured_at=old, scan_id="old-1")
    assert held.status_code == 202
    assert held.json()["action"] == "held"
    assert held.json()["reason"] == "OFFLINE_TOO_OLD"
    future = clock() + timedelta(seconds=org.settings.offline_future_skew_seconds + 60)
    ahead = await scanner.scan(code, captured_at=future)
    assert ahead.json()["reason"] == "OFFLINE_IN_FUTURE"
    # Never counted, but kept, and a retry replays the same answer.
    assert await session.scalar(select(func.count()).select_from(AttendanceRecord)) == 0
    assert (await scanner.scan(code, captured_at=old, scan_id="old-1")).json() == held.json()

    hr = org.headers(org.hr)
    queue = (await client.get("/api/v1/attendance/review", headers=hr)).json()
    assert len(queue["held_scans"]) == 2
    # Each held scan names the kiosk's place and zone, so HR reads its times where it happened.
    assert {(e["location_name"], e["timezone"]) for e in queue["held_scans"]} == {
        (org.location.name, "Europe/Madrid")
    }
    old_event = next(e for e in queue["held_scans"] if e["reason"] == "OFFLINE_TOO_OLD")
    approved = await client.post(f"/api/v1/attendance/review/{old_event['id']}/approve", headers=hr)
    assert approved.status_code == 200, approved.text
    assert approved.json()["action"] == "check_in"
    record = await session.get(AttendanceRecord, approved.json()["record_id"])
    assert record is not None
    assert record.check_in_at == old
    again = await client.post(f"/api/v1/attendance/review/{old_event['id']}/approve", headers=hr)
    assert again.status_code == 409
    other = next(e for e in queue["held_scans"] if e["reason"] == "OFFLINE_IN_FUTURE")
    rejected = await client.post(f"/api/v1/attendance/review/{other['id']}/reject", headers=hr)
    assert rejected.status_code == 200
    assert rejected.json()["review_status"] == "rejected"
    queue = (await client.get("/api/v1/attendance/review", headers=hr)).json()
    assert queue["held_scans"] == []
    event = await session.get(ScanEvent, old_event["id"])
    assert event is not None
    await session.refresh(event)
    assert event.review_status == "approved"
    assert event.reviewed_by == org.hr.id


async def test_late_alert_goes_to_the_department_manager(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock, at_madrid: AtMadrid
) -> None:
    at_madrid(2026, 3, 2, 9, 40)
    await scanner.scan(await badge_code(session, org.employee, org.settings, clock()))
    alert = await session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "late_alert"))
    assert alert is not None
    assert alert.to_address == org.supervisor.email
    assert alert.context["minutes_late"] == 40
    assert alert.context["department"] == "Engineering"
    assert alert.context["at_local"] == "2026-03-02 09:40"


async def test_opted_out_employee_gets_no_confirmation(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock, at_madrid: AtMadrid
) -> None:
    at_madrid(2026, 3, 2, 8, 55)
    org.employee.notification_preferences = {"attendance_confirmation": False}
    await session.flush()
    assert (
        await scanner.scan(await badge_code(session, org.employee, org.settings, clock()))
    ).status_code == 200
    count = await session.scalar(
        select(func.count()).select_from(OutboxEmail).where(OutboxEmail.user_id == org.employee.id)
    )
    assert count == 0


async def test_forgotten_check_out_holds_the_next_scan_for_hr(
    scanner: Scanner, client: httpx.AsyncClient, org: Org, session: AsyncSession,
    clock: FrozenClock, at_madrid: AtMadrid,
) -> None:  # fmt: skip
    at_madrid(2026, 3, 2, 9, 0)
    code = await badge_code(session, org.employee, org.settings, clock())
    first = (await scanner.scan(code)).json()
    at_madrid(2026, 3, 3, 8, 50)  # next morning: yesterday's record was never closed
    held = await scanner.scan(code)
    assert held.status_code == 202
    assert held.json()["reason"] == "STALE_OPEN_RECORD"
    record = await session.get(AttendanceRecord, first["record_id"])
    assert record is not None
    await session.refresh(record)
    assert record.check_out_at is None  # no invented check-out
    hr = org.headers(org.hr)
    [pending] = (await client.get("/api/v1/attendance/review", headers=hr)).json()["held_scans"]
    refused = await client.post(f"/api/v1/attendance/review/{pending['id']}/approve", headers=hr)
    assert refused.status_code == 409  # still stale until HR closes yesterday
    closed = await client.put(
        f"/api/v1/attendance/{first['record_id']}",
        json={"check_out_at": "2026-03-02T16:00:00Z", "reason": "Forgot to scan out"},
        headers=hr,
    )
    assert closed.status_code == 200
    approved = await client.post(f"/api/v1/attendance/review/{pending['id']}/approve", headers=hr)
    assert approved.status_code == 200, approved.text
    assert approved.json()["action"] == "check_in"
    assert approved.json()["status"] == "on_time"
    assert approved.json()["source"] == "online"
