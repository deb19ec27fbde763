from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.holiday.models import Holiday
from tapwork.location.models import Location
from tests.support import factories as f
from tests.support.personas import Org

URL = "/api/v1/holidays"


async def _holiday(
    session: AsyncSession, day: date, name: str, location: Location | None = None
) -> Holiday:
    holiday = Holiday(holiday_date=day, name=name, location_id=location.id if location else None)
    session.add(holiday)
    await session.flush()
    return holiday


async def test_hr_adds_a_local_and_a_global_holiday(client: httpx.AsyncClient, org: Org) -> None:
    local = await client.post(
        URL,
        json={
            "holiday_date": "2026-05-15",
            "name": "San Isidro",
            "location_id": str(org.location.id),
        },
        headers=org.headers(org.hr),
    )
    assert local.status_code == 201, local.text
    assert local.json()["location_name"] == "Madrid HQ"
    everywhere = await client.post(
        URL, json={"holiday_date": "2026-05-15", "name": "Company day"}, headers=org.headers(org.hr)
    )
    # The same day is fine once for a location and once for everywhere.
    assert everywhere.status_code == 201, everywhere.text
    assert everywhere.json()["location_id"] is None


@pytest.mark.parametrize("at_location", [True, False])
async def test_duplicate_date_and_location_is_409(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, at_location: bool
) -> None:
    location = org.location if at_location else None
    await _holiday(session, date(2026, 12, 25), "Christmas", location)
    body: dict[str, Any] = {"holiday_date": "2026-12-25", "name": "Xmas again"}
    if location:
        body["location_id"] = str(location.id)
    response = await client.post(URL, json=body, headers=org.headers(org.hr))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "HOLIDAY_EXISTS"


async def test_moving_onto_an_existing_day_is_409(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await _holiday(session, date(2026, 1, 1), "New Year")
    other = await _holiday(session, date(2026, 1, 6), "Epiphany")
    response = await client.put(
        f"{URL}/{other.id}", json={"holiday_date": "2026-01-01"}, headers=org.headers(org.hr)
    )
    assert response.status_code == 409


async def test_unknown_location_is_422(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        URL,
        json={"holiday_date": "2026-05-01", "name": "Labour", "location_id": str(uuid.uuid4())},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "body.location_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"holiday_date": "2026-02-30", "name": "Nope"}, "body.holiday_date"),
        ({"holiday_date": "2026-02-01", "name": "n" * 121}, "body.name"),
        ({"holiday_date": "2026-02-01", "name": "nul\x00"}, "body.name"),
        ({"name": "No date"}, "body.holiday_date"),
    ],
)
async def test_bounded_inputs(
    client: httpx.AsyncClient, org: Org, body: dict[str, str], field: str
) -> None:
    response = await client.post(URL, json=body, headers=org.headers(org.hr))
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["error"]["details"]["fields"]]


async def test_list_filters_by_year_range_and_location(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lisbon = await f.make_location(session, name="Lisbon", timezone="Europe/Lisbon")
    await _holiday(session, date(2025, 12, 25), "Christmas 2025")
    await _holiday(session, date(2026, 1, 1), "New Year")
    await _holiday(session, date(2026, 5, 15), "San Isidro", org.location)
    await _holiday(session, date(2026, 6, 13), "Santo Antonio", lisbon)

    async def names(**params: Any) -> list[str]:
        response = await client.get(URL, params=params, headers=org.headers(org.supervisor))
        assert response.status_code == 200, response.text
        return [h["name"] for h in response.json()["items"]]

    assert await names(year=2026) == ["New Year", "San Isidro", "Santo Antonio"]
    assert await names(start_date="2026-01-01", end_date="2026-05-15") == [
        "New Year",
        "San Isidro",
    ]
    assert await names(year=2026, location_id=str(org.location.id)) == ["New Year", "San Isidro"]
    assert await names(location_id=str(lisbon.id), include_global="false") == ["Santo Antonio"]
    page = await client.get(URL, params={"limit": 2, "page": 2}, headers=org.headers(org.hr))
    assert page.json()["total"] == 4
    assert [h["name"] for h in page.json()["items"]] == ["San Isidro", "Santo Antonio"]


async def test_reversed_range_is_422(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(
        URL,
        params={"start_date": "2026-02-01", "end_date": "2026-01-01"},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "query.end_date"


async def test_update_and_delete_are_audited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    holiday = await _holiday(session, date(2026, 8, 15), "Assumption", org.location)
    response = await client.put(
        f"{URL}/{holiday.id}",
        json={"name": "Assumption Day", "location_id": None},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 200, response.text
    assert response.json()["location_id"] is None
    entry = await session.scalar(select(AuditLog).where(AuditLog.action == "holiday.update"))
    assert entry is not None
    assert entry.old_values == {"name": "Assumption", "location_id": str(org.location.id)}
    assert entry.new_values == {"name": "Assumption Day", "location_id": None}

    response = await client.delete(f"{URL}/{holiday.id}", headers=org.headers(org.hr))
    assert response.status_code == 204
    assert (await client.get(f"{URL}/{holiday.id}", headers=org.headers(org.hr))).status_code == 404
    deleted = await session.scalar(select(AuditLog).where(AuditLog.action == "holiday.delete"))
    assert deleted is not None
    assert deleted.old_values == {
        "holiday_date": "2026-08-15",
        "name": "Assumption Day",
        "location_id": None,
    }


async def test_supervisor_cannot_write(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.supervisor)
    body = {"holiday_date": "2026-03-19", "name": "San José"}
    assert (await client.post(URL, json=body, headers=headers)).status_code == 403
