"""The scan endpoint: check-in/out, status, idempotency, debounce, rest, rejections."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.audit.models import AuditLog
from tapwork.kiosk.models import Kiosk
from tapwork.notification.models import OutboxEmail
from tests.attendance.conftest import AtMadrid, Scanner, badge_code
from tests.support.clock import FrozenClock
from tests.support.personas import Org


async def test_check_in_then_out(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock, at_madrid: AtMadrid
) -> None:
    at_madrid(2026, 3, 2, 9, 12)  # Monday, shift 09-17, grace 5
    code = await badge_code(session, org.employee, org.settings, clock())
    first = await scanner.scan(code)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["action"] == "check_in"
    assert body["status"] == "late"
    assert body["minutes_late"] == 12
    assert body["employee"]["id"] == str(org.employee.id)
    assert body["location"] == "Madrid HQ"
    at_madrid(2026, 3, 2, 18, 0)
    second = await scanner.scan(code)
    assert second.status_code == 200, second.text
    out = second.json()
    assert out["action"] == "check_out"
    assert out["record_id"] == body["record_id"]
    assert (out["worked_minutes"], out["overtime_minutes"], out["early_leave_minutes"]) == (
        528,
        48,
        0,
    )
    record = await session.get(AttendanceRecord, out["record_id"])
    assert record is not None
    await session.refresh(record)
    assert record.check_out_at is not None
    assert record.worked_minutes == 528
    assert record.source == "online"
    audits = await session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.resource_id == str(record.id))
    )
    assert audits == 2
    kinds = list(
        await session.scalars(
            select(OutboxEmail.kind)
            .where(OutboxEmail.user_id.in_([org.employee.id, org.supervisor.id]))
            .order_by(OutboxEmail.created_at, OutboxEmail.kind)
        )
    )
    assert sorted(kinds) == ["attendance_confirmation", "attendance_confirmation", "late_alert"]


async def test_same_scan_id_replays_the_first_answer(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    code = await badge_code(session, org.employee, org.settings, clock())
    first = await scanner.scan(code, scan_id="retry-me")
    clock.advance(minutes=30)
    again = await scanner.scan(code, scan_id="retry-me")
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    count = await session.scalar(select(func.count()).select_from(AttendanceRecord))
    assert count == 1
    reused = await scanner.scan(code + "X", scan_id="retry-me")
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "SCAN_ID_REUSED"


async def test_debounce_is_a_duplicate_not_a_check_out(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    code = await badge_code(session, org.employee, org.settings, clock())
    assert (await scanner.scan(code)).status_code == 200
    clock.advance(seconds=org.settings.scan_debounce_seconds - 1)
    dup = await scanner.scan(code)
    assert dup.status_code == 409
    assert dup.json()["error"]["code"] == "DUPLICATE_SCAN"
    clock.advance(seconds=2)
    assert (await scanner.scan(code)).json()["action"] == "check_out"


async def test_rest_period_says_when(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    code = await badge_code(session, org.employee, org.settings, clock())
    await scanner.scan(code)
    clock.advance(hours=1)
    out_at = clock()
    assert (await scanner.scan(code)).json()["action"] == "check_out"
    clock.advance(minutes=10)
    refused = await scanner.scan(code)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "REST_PERIOD"
    from datetime import datetime, timedelta

    available = datetime.fromisoformat(error["details"]["available_at"])
    assert available == out_at + timedelta(minutes=org.settings.min_rest_minutes)
    clock.set(available)
    assert (await scanner.scan(code)).json()["action"] == "check_in"


async def test_rejected_scans_are_stored_and_replayed(
    scanner: Scanner, org: Org, session: AsyncSession
) -> None:
    bad = await scanner.scan("TW1:NOPE:FORGED", scan_id="forged-1")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "INVALID_QR_CODE"
    event = await session.scalar(select(ScanEvent).where(ScanEvent.client_scan_id == "forged-1"))
    assert event is not None
    assert event.result == "rejected"
    assert event.error_code == "INVALID_QR_CODE"
    again = await scanner.scan("TW1:NOPE:FORGED", scan_id="forged-1")
    assert again.status_code == 400
    assert again.json() == bad.json()


async def test_non_kiosk_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    body = {"code_data": "x", "client_scan_id": "1"}
    anonymous = await client.post("/api/v1/attendance", json=body)
    assert anonymous.status_code == 401
    user = await client.post("/api/v1/attendance", json=body, headers=org.headers(org.admin))
    assert user.status_code == 401


async def test_revoked_kiosk_and_unknown_token_are_refused(
    client: httpx.AsyncClient,
    kiosk: tuple[Kiosk, str],
    kiosk_headers: dict[str, str],
    session: AsyncSession,
    clock: FrozenClock,
) -> None:
    body = {"code_data": "x", "client_scan_id": "1"}
    unknown = await client.post(
        "/api/v1/attendance", json=body, headers={"X-Kiosk-Token": "not-a-real-token-at-all"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "KIOSK_UNAUTHORIZED"
    kiosk[0].revoked_at = clock()
    await session.flush()
    revoked = await client.post("/api/v1/attendance", json=body, headers=kiosk_headers)
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "KIOSK_REVOKED"


async def test_scan_records_kiosk_telemetry(
    scanner: Scanner, kiosk: tuple[Kiosk, str], org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    from datetime import timedelta

    scanner.headers = {
        **scanner.headers,
        "X-Kiosk-Version": "scanner/1.4.2",
        "X-Kiosk-Time": (clock() + timedelta(seconds=3)).isoformat(),
    }
    await scanner.scan(await badge_code(session, org.employee, org.settings, clock()))
    await session.refresh(kiosk[0])
    assert kiosk[0].last_seen_at == clock()
    assert kiosk[0].app_version == "scanner/1.4.2"
    assert kiosk[0].clock_offset_ms == 3000
