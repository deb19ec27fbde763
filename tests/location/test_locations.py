from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.holiday.models import Holiday
from tapwork.kiosk.models import Kiosk
from tapwork.location.models import Location
from tests.support import factories as f
from tests.support.personas import Org

URL = "/api/v1/locations"


async def test_hr_creates_a_location(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        URL,
        json={"name": "New York", "timezone": "America/New_York", "address": "5th Ave"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["timezone"], body["address"]) == ("America/New_York", "5th Ave")
    assert (body["user_count"], body["kiosk_count"]) == (0, 0)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "europe/madrid", "CEST", "+02:00", "x" * 65])
async def test_unknown_timezone_is_422_naming_timezone(
    client: httpx.AsyncClient, org: Org, zone: str
) -> None:
    response = await client.post(
        URL, json={"name": "Somewhere", "timezone": zone}, headers=org.headers(org.hr)
    )
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["error"]["details"]["fields"]]
    assert fields == ["body.timezone"]


async def test_update_timezone_is_validated_and_audited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    url = f"{URL}/{org.location.id}"
    bad = await client.put(url, json={"timezone": "Nowhere/City"}, headers=org.headers(org.hr))
    assert bad.status_code == 422
    response = await client.put(
        url, json={"timezone": "Atlantic/Canary"}, headers=org.headers(org.hr)
    )
    assert response.status_code == 200, response.text
    assert response.json()["timezone"] == "Atlantic/Canary"
    assert response.json()["user_count"] == 3
    entry = await session.scalar(select(AuditLog).where(AuditLog.action == "location.update"))
    assert entry is not None
    assert entry.old_values == {"timezone": "Europe/Madrid"}
    assert entry.new_values == {"timezone": "Atlantic/Canary"}


async def test_duplicate_name_is_409(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        URL, json={"name": "Madrid HQ", "timezone": "UTC"}, headers=org.headers(org.hr)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "LOCATION_NAME_TAKEN"


async def test_delete_with_users_is_409(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.delete(f"{URL}/{org.location.id}", headers=org.headers(org.hr))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "LOCATION_IN_USE"
    assert error["details"]["user_count"] == 3


async def test_delete_with_a_kiosk_is_409(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    site = await f.make_location(session, name="Warehouse")
    session.add(Kiosk(name="Dock", location_id=site.id))
    await session.flush()
    response = await client.delete(f"{URL}/{site.id}", headers=org.headers(org.hr))
    assert response.status_code == 409
    assert response.json()["error"]["details"]["kiosk_count"] == 1


async def test_delete_unused_location_takes_its_holidays(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    site = await f.make_location(session, name="Pop-up")
    holiday = Holiday(holiday_date=date(2026, 5, 1), name="Local fair", location_id=site.id)
    session.add(holiday)
    await session.flush()
    response = await client.delete(f"{URL}/{site.id}", headers=org.headers(org.hr))
    assert response.status_code == 204
    assert await session.get(Location, site.id, populate_existing=True) is None
    assert await session.scalar(select(Holiday).where(Holiday.id == holiday.id)) is None
    entry = await session.scalar(select(AuditLog).where(AuditLog.action == "location.delete"))
    assert entry is not None
    assert entry.old_values == {"name": "Pop-up", "timezone": "Europe/Madrid", "address": ""}


async def test_list_search_and_get(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await f.make_location(session, name="Lisbon", timezone="Europe/Lisbon")
    listed = await client.get(URL, params={"search": "lis"}, headers=org.headers(org.supervisor))
    assert [loc["name"] for loc in listed.json()["items"]] == ["Lisbon"]
    missing = await client.get(f"{URL}/{uuid.uuid4()}", headers=org.headers(org.supervisor))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "LOCATION_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "timezone": "UTC", "address": "a" * 301}, "body.address"),
        ({"name": "A", "timezone": "UTC", "address": "a\x00"}, "body.address"),
        ({"name": "A\x00", "timezone": "UTC"}, "body.name"),
        ({"name": "A"}, "body.timezone"),
    ],
)
async def test_bounded_inputs(
    client: httpx.AsyncClient, org: Org, body: dict[str, str], field: str
) -> None:
    response = await client.post(URL, json=body, headers=org.headers(org.hr))
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["error"]["details"]["fields"]]


async def test_supervisor_cannot_write(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.supervisor)
    body = {"name": "Mine", "timezone": "UTC"}
    assert (await client.post(URL, json=body, headers=headers)).status_code == 403
    url = f"{URL}/{org.location.id}"
    assert (await client.put(url, json=body, headers=headers)).status_code == 403
    assert (await client.delete(url, headers=headers)).status_code == 403
