from __future__ import annotations

import uuid
from datetime import time
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.shift.models import Shift
from tapwork.shift.service import duration_minutes
from tests.support import factories as f
from tests.support.personas import Org

URL = "/api/v1/shifts"


async def test_hr_creates_a_day_shift(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        URL,
        json={
            "name": "Early",
            "start_time": "07:30",
            "end_time": "15:45",
            "grace_minutes": 10,
            "early_threshold_minutes": 60,
            "working_days": [5, 1, 3],
        },
        headers=org.headers(org.hr),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["start_time"] == "07:30"
    assert body["end_time"] == "15:45"
    assert body["working_days"] == [1, 3, 5]
    assert body["crosses_midnight"] is False
    assert body["duration_minutes"] == 8 * 60 + 15
    assert body["user_count"] == 0


async def test_night_shift_crosses_midnight(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        URL,
        json={"name": "Night", "start_time": "22:00", "end_time": "06:00"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["crosses_midnight"] is True
    assert body["duration_minutes"] == 8 * 60
    assert body["grace_minutes"] == 5
    assert body["working_days"] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end_time": "09:00"}, "body.end_time"),
        ({"start_time": "9:00"}, "body.start_time"),
        ({"start_time": "24:00"}, "body.start_time"),
        ({"start_time": "09:00:00"}, "body.start_time"),
        ({"grace_minutes": 241}, "body.grace_minutes"),
        ({"grace_minutes": -1}, "body.grace_minutes"),
        ({"early_threshold_minutes": 721}, "body.early_threshold_minutes"),
        ({"working_days": []}, "body.working_days"),
        ({"working_days": [1, 1]}, "body.working_days"),
        ({"working_days": [0]}, "body.working_days.0"),
        ({"working_days": [8]}, "body.working_days.0"),
        ({"name": "n" * 121}, "body.name"),
        ({"name": "a\x00b"}, "body.name"),
    ],
)
async def test_invalid_shift_is_422_naming_the_field(
    client: httpx.AsyncClient, org: Org, change: dict[str, Any], field: str
) -> None:
    body = {"name": "Bad", "start_time": "09:00", "end_time": "17:00", **change}
    response = await client.post(URL, json=body, headers=org.headers(org.hr))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["error"]["details"]["fields"]]


async def test_update_to_equal_times_is_422(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.put(
        f"{URL}/{org.shift.id}", json={"end_time": "09:00"}, headers=org.headers(org.hr)
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "body.end_time"


async def test_update_is_audited_with_old_and_new_values(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    response = await client.put(
        f"{URL}/{org.shift.id}",
        json={"start_time": "08:00", "grace_minutes": 15, "name": None},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Day"
    assert response.json()["duration_minutes"] == 9 * 60
    assert response.json()["user_count"] == 3
    entry = await session.scalar(select(AuditLog).where(AuditLog.action == "shift.update"))
    assert entry is not None
    assert entry.old_values == {"start_time": "09:00:00", "grace_minutes": 5}
    assert entry.new_values == {"start_time": "08:00:00", "grace_minutes": 15}


async def test_duplicate_name_is_409(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        URL,
        json={"name": "day", "start_time": "09:00", "end_time": "17:00"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SHIFT_NAME_TAKEN"


async def test_delete_with_users_is_409(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    response = await client.delete(f"{URL}/{org.shift.id}", headers=org.headers(org.admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SHIFT_IN_USE"
    unused = await f.make_shift(session, name="Unused")
    response = await client.delete(f"{URL}/{unused.id}", headers=org.headers(org.admin))
    assert response.status_code == 204
    assert await session.get(Shift, unused.id, populate_existing=True) is None


async def test_list_and_get(client: httpx.AsyncClient, org: Org, session: AsyncSession) -> None:
    await f.make_shift(session, name="Weekend", working_days=[6, 7])
    listed = await client.get(URL, headers=org.headers(org.supervisor))
    assert [s["name"] for s in listed.json()["items"]] == ["Day", "Weekend"]
    one = await client.get(f"{URL}/{org.shift.id}", headers=org.headers(org.supervisor))
    assert one.json()["user_count"] == 3
    missing = await client.get(f"{URL}/{uuid.uuid4()}", headers=org.headers(org.hr))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "SHIFT_NOT_FOUND"


async def test_supervisor_cannot_write(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.supervisor)
    body = {"name": "Mine", "start_time": "09:00", "end_time": "17:00"}
    assert (await client.post(URL, json=body, headers=headers)).status_code == 403
    assert (await client.put(f"{URL}/{org.shift.id}", json={}, headers=headers)).status_code == 403
    assert (await client.delete(f"{URL}/{org.shift.id}", headers=headers)).status_code == 403


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (time(9), time(17), 480),
        (time(22), time(6), 480),
        (time(0), time(23, 59), 1439),
        (time(23, 59), time(0), 1),
        (time(12), time(11, 59), 1439),
    ],
)
def test_duration_minutes(start: time, end: time, minutes: int) -> None:
    assert duration_minutes(start, end) == minutes


@given(st.times(), st.times())
def test_duration_is_within_a_day(start: time, end: time) -> None:
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    if start != end:
        assert 1 <= duration_minutes(start, end) <= 1439
