"""Reading records (scoping by role) and HR corrections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.notification.models import OutboxEmail
from tapwork.notification.render import render
from tests.attendance.conftest import Scanner, badge_code
from tests.support.clock import FrozenClock
from tests.support.personas import Org

URL = "/api/v1/attendance"


async def _check_in_everyone(scanner: Scanner, org: Org, session: AsyncSession, now: datetime):  # type: ignore[no-untyped-def]
    ids = {}
    for name in ("employee", "outsider"):
        user = org.persona(name)
        response = await scanner.scan(await badge_code(session, user, org.settings, now))
        assert response.status_code == 200, response.text
        ids[name] = response.json()["record_id"]
    return ids


async def test_supervisor_sees_only_managed_departments(
    client: httpx.AsyncClient, scanner: Scanner, org: Org, session: AsyncSession,
    clock: FrozenClock,
) -> None:  # fmt: skip
    ids = await _check_in_everyone(scanner, org, session, clock())
    sup = org.headers(org.supervisor)
    listed = (await client.get(URL, headers=sup)).json()
    assert [i["id"] for i in listed["items"]] == [ids["employee"]]
    assert listed["total"] == 1
    forbidden = await client.get(URL, params={"department_id": str(org.other_department.id)},
                                 headers=sup)  # fmt: skip
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "DEPARTMENT_FORBIDDEN"
    outside = await client.get(URL, params={"user_id": str(org.outsider.id)}, headers=sup)
    assert outside.json()["items"] == []
    assert (await client.get(f"{URL}/{ids['outsider']}", headers=sup)).status_code == 404
    assert (await client.get(f"{URL}/{ids['employee']}", headers=sup)).status_code == 200
    everyone = (await client.get(URL, headers=org.headers(org.hr))).json()
    assert everyone["total"] == 2
    # 08:00 UTC is 09:00 in Madrid: on time.
    for status, total in (("on_time", 2), ("early", 0)):
        filtered = await client.get(URL, params={"status": status}, headers=org.headers(org.hr))
        assert filtered.json()["total"] == total
    live = (await client.get(f"{URL}/live", headers=sup)).json()
    assert live["total"] == 1
    assert live["locations"][0]["people"][0]["user_id"] == str(org.employee.id)
    # The portal reads each location's check-ins on that location's clock.
    assert live["locations"][0]["timezone"] == "Europe/Madrid"


async def test_employee_reads_own_records_with_totals(
    client: httpx.AsyncClient, scanner: Scanner, org: Org, session: AsyncSession,
    clock: FrozenClock,
) -> None:  # fmt: skip
    ids = await _check_in_everyone(scanner, org, session, clock())
    clock.advance(hours=9)
    await scanner.scan(await badge_code(session, org.employee, org.settings, clock()))
    me = (await client.get(f"{URL}/me", headers=org.headers(org.employee))).json()
    assert [i["id"] for i in me["items"]] == [ids["employee"]]
    assert me["totals"]["records"] == 1
    assert me["totals"]["worked_minutes"] == 540
    assert me["totals"]["overtime_minutes"] == 60
    assert (await client.get(f"{URL}/{ids['outsider']}", headers=org.headers(org.employee))
            ).status_code == 404  # fmt: skip


async def test_hr_creates_and_edits_a_record_with_reason(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    hr = org.headers(org.hr)
    created = await client.post(
        f"{URL}/corrections",
        json={"user_id": str(org.employee.id), "check_in_at": "2026-02-27T08:20:00Z",
              "reason": "Forgot badge at home"},
        headers=hr,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["source"] == "manual"
    assert record["status"] == "late"  # 09:20 Madrid
    assert record["minutes_late"] == 20
    # Shown where it happened: the Madrid location's zone and name come with the record.
    assert (record["timezone"], record["location_name"]) == ("Europe/Madrid", "Madrid HQ")
    assert record["corrected"] is True
    # A second open record is refused by the database's invariant, as a 409.
    second = await client.post(
        f"{URL}/corrections",
        json={"user_id": str(org.employee.id), "check_in_at": "2026-02-26T08:00:00Z",
              "reason": "Another one"},
        headers=hr,
    )  # fmt: skip
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "OPEN_RECORD_EXISTS"
    backwards = await client.put(
        f"{URL}/{record['id']}", json={"check_out_at": "2026-02-27T07:00:00Z", "reason": "oops"},
        headers=hr,
    )  # fmt: skip
    assert backwards.status_code == 422
    no_reason = await client.put(
        f"{URL}/{record['id']}", json={"check_out_at": "2026-02-27T16:00:00Z"}, headers=hr
    )
    assert no_reason.status_code == 422
    closed = await client.put(
        f"{URL}/{record['id']}",
        json={"check_out_at": "2026-02-27T16:20:00Z", "reason": "Left without scanning"},
        headers=hr,
    )  # fmt: skip
    assert closed.status_code == 200, closed.text
    assert closed.json()["worked_minutes"] == 480
    entry = await session.scalar(
        select(AuditLog).where(AuditLog.action == "attendance.correction_update")
    )
    assert entry is not None
    assert entry.old_values == {"check_out_at": None, "worked_minutes": None,
                                "overtime_minutes": None, "early_leave_minutes": None}  # fmt: skip
    assert entry.new_values is not None
    assert entry.new_values["reason"] == "Left without scanning"
    notices = list(await session.scalars(
        select(OutboxEmail).where(OutboxEmail.kind == "correction_notice")
        .order_by(OutboxEmail.created_at)
    ))  # fmt: skip
    assert len(notices) == 2
    assert notices[-1].to_address == org.employee.email
    # The mail reads like a message: Madrid local times, fields in words, the corrector's name.
    context = notices[-1].context
    assert {"field": "Check-out", "before": None, "after": "27 Feb 2026, 17:20"} in context["rows"]
    assert {"field": "Worked", "before": None, "after": "8 h 00 min"} in context["rows"]
    assert context["timezone"] == "Europe/Madrid"
    assert context["corrected_by"] == org.hr.full_name
    text = render("correction_notice", context, settings=org.settings).text
    assert "- Check-out: — -> 27 Feb 2026, 17:20" in text
    assert "Times are local time at Madrid HQ (Europe/Madrid)." in text
    assert f"{org.hr.full_name} corrected your attendance record for 27 Feb 2026" in text


async def test_corrections_refuse_future_times(
    client: httpx.AsyncClient, org: Org, clock: FrozenClock
) -> None:
    future = (clock() + timedelta(days=1)).astimezone(UTC).isoformat()
    response = await client.post(
        f"{URL}/corrections",
        json={"user_id": str(org.employee.id), "check_in_at": future, "reason": "typo"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 422
