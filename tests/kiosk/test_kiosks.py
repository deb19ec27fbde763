"""Enrol, pair, use, revoke: the kiosk life cycle through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.models import ScanEvent
from tapwork.audit.models import AuditLog
from tapwork.kiosk.models import Kiosk
from tapwork.kit.security import hash_token
from tests.support.personas import Org

BASE = "/api/v1/kiosks"


async def _enrol(client: httpx.AsyncClient, org: Org, name: str = "Lobby") -> dict[str, Any]:
    response = await client.post(
        BASE,
        json={"name": name, "location_id": str(org.location.id)},
        headers=org.headers(org.admin),
    )
    assert response.status_code == 201, response.text
    enrolled: dict[str, Any] = response.json()
    return enrolled


async def _pair(client: httpx.AsyncClient, code: str, **extra: str) -> httpx.Response:
    return await client.post(f"{BASE}/pair", json={"pairing_code": code, **extra})


async def test_enrol_pair_use_revoke(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    enrolled = await _enrol(client, org)
    code = enrolled["pairing_code"]
    assert len(code) == 8
    assert set(code) <= set("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
    assert enrolled["kiosk"]["status"] == "pending"
    assert enrolled["pairing_expires_at"] == (
        org.clock() + timedelta(minutes=15)
    ).isoformat().replace("+00:00", "Z")

    paired = await _pair(client, code.lower()[:4] + "-" + code[4:], app_version="1.2.3")
    assert paired.status_code == 200, paired.text
    body = paired.json()
    token = body["device_token"]
    assert len(token) >= 40
    assert body["kiosk"]["location"] == {
        "id": str(org.location.id),
        "name": "Madrid HQ",
        "timezone": "Europe/Madrid",
    }
    # Only hashes are stored.
    row = await session.scalar(select(Kiosk).where(Kiosk.id == body["kiosk"]["id"]))
    assert row is not None
    assert row.token_hash == hash_token(token)
    assert row.pairing_code_hash is None

    me = await client.get(f"{BASE}/me", headers={"X-Kiosk-Token": token})
    assert me.status_code == 200, me.text
    assert me.json()["kiosk"]["name"] == "Lobby"
    assert me.json()["server_time"].startswith("2026-03-02T08:00:00")

    listed = await client.get(BASE, headers=org.headers(org.hr))
    assert [k["status"] for k in listed.json()["items"] if k["name"] == "Lobby"] == ["active"]

    revoked = await client.post(f"{BASE}/{row.id}/revoke", headers=org.headers(org.admin))
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    refused = await client.get(f"{BASE}/me", headers={"X-Kiosk-Token": token})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "KIOSK_REVOKED"
    actions = set(
        await session.scalars(select(AuditLog.action).where(AuditLog.resource_id == str(row.id)))
    )
    assert actions == {"kiosk.create", "kiosk.pair", "kiosk.revoke"}


async def test_pairing_code_is_single_use(client: httpx.AsyncClient, org: Org) -> None:
    code = (await _enrol(client, org))["pairing_code"]
    assert (await _pair(client, code)).status_code == 200
    again = await _pair(client, code)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "PAIRING_CODE_INVALID"


async def test_pairing_code_expires(client: httpx.AsyncClient, org: Org) -> None:
    code = (await _enrol(client, org))["pairing_code"]
    org.clock.advance(minutes=15)
    expired = await _pair(client, code)
    assert expired.status_code == 400
    assert expired.json()["error"]["code"] == "PAIRING_CODE_EXPIRED"


async def test_pairing_code_works_just_before_expiry(client: httpx.AsyncClient, org: Org) -> None:
    code = (await _enrol(client, org))["pairing_code"]
    org.clock.advance(minutes=14, seconds=59)
    assert (await _pair(client, code)).status_code == 200


async def test_new_pairing_code_unpairs_old_token(client: httpx.AsyncClient, org: Org) -> None:
    enrolled = await _enrol(client, org)
    token = (await _pair(client, enrolled["pairing_code"])).json()["device_token"]
    kiosk_id = enrolled["kiosk"]["id"]
    fresh = await client.post(f"{BASE}/{kiosk_id}/pairing-code", headers=org.headers(org.admin))
    assert fresh.status_code == 200
    assert fresh.json()["kiosk"]["status"] == "pending"
    old = await client.get(f"{BASE}/me", headers={"X-Kiosk-Token": token})
    assert old.status_code == 401
    assert old.json()["error"]["code"] == "KIOSK_UNAUTHORIZED"
    new_token = (await _pair(client, fresh.json()["pairing_code"])).json()["device_token"]
    assert (await client.get(f"{BASE}/me", headers={"X-Kiosk-Token": new_token})).status_code == 200


async def test_missing_or_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"X-Kiosk-Token": "nope"}, {"X-Kiosk-Token": "x" * 500}):
        response = await client.get(f"{BASE}/me", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "KIOSK_UNAUTHORIZED"


async def test_telemetry_recorded_and_throttled(
    client: httpx.AsyncClient, org: Org, kiosk: tuple[Kiosk, str], session: AsyncSession
) -> None:
    row, token = kiosk
    kiosk_time = (org.clock() + timedelta(seconds=2, milliseconds=500)).isoformat()
    headers = {"X-Kiosk-Token": token, "X-Kiosk-Version": "2.0.0", "X-Kiosk-Time": kiosk_time}
    assert (await client.get(f"{BASE}/me", headers=headers)).status_code == 200
    await session.refresh(row)
    assert row.last_seen_at == org.clock()
    assert row.app_version == "2.0.0"
    assert row.clock_offset_ms == 2500

    # Within 30 s nothing is written, however often the kiosk calls.
    org.clock.advance(seconds=10)
    later = {**headers, "X-Kiosk-Time": org.clock().isoformat()}
    assert (await client.get(f"{BASE}/me", headers=later)).status_code == 200
    await session.refresh(row)
    assert row.last_seen_at == org.clock() - timedelta(seconds=10)
    assert row.clock_offset_ms == 2500

    # A new app version is written at once; after 30 s everything is refreshed.
    assert (
        await client.get(f"{BASE}/me", headers={**later, "X-Kiosk-Version": "2.0.1"})
    ).status_code == 200
    await session.refresh(row)
    assert row.app_version == "2.0.1"
    org.clock.advance(seconds=30)
    again = {**headers, "X-Kiosk-Time": (org.clock() - timedelta(seconds=1)).isoformat()}
    assert (await client.get(f"{BASE}/me", headers=again)).status_code == 200
    await session.refresh(row)
    assert row.last_seen_at == org.clock()
    assert row.clock_offset_ms == -1000


async def test_bad_kiosk_time_is_ignored(
    client: httpx.AsyncClient, kiosk: tuple[Kiosk, str], session: AsyncSession
) -> None:
    row, token = kiosk
    headers = {"X-Kiosk-Token": token, "X-Kiosk-Time": "yesterday-ish"}
    assert (await client.get(f"{BASE}/me", headers=headers)).status_code == 200
    await session.refresh(row)
    assert row.clock_offset_ms is None
    assert row.last_seen_at is not None


async def test_list_filters_by_location(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    from tests.support import factories as f

    other = await f.make_location(session, name="Lisbon")
    await _enrol(client, org, "Madrid door")
    response = await client.post(
        BASE,
        json={"name": "Lisbon door", "location_id": str(other.id)},
        headers=org.headers(org.admin),
    )
    assert response.status_code == 201
    listed = await client.get(
        BASE, params={"location_id": str(other.id)}, headers=org.headers(org.hr)
    )
    assert [k["name"] for k in listed.json()["items"]] == ["Lisbon door"]
    assert listed.json()["total"] == 1


async def test_update_and_delete(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    from tests.support import factories as f

    other = await f.make_location(session, name="Porto")
    kiosk_id = (await _enrol(client, org))["kiosk"]["id"]
    admin = org.headers(org.admin)
    updated = await client.put(
        f"{BASE}/{kiosk_id}",
        json={"name": "Porto door", "location_id": str(other.id)},
        headers=admin,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Porto door"
    assert updated.json()["location"]["name"] == "Porto"
    assert (await client.delete(f"{BASE}/{kiosk_id}", headers=admin)).status_code == 204
    missing = await client.get(f"{BASE}/{kiosk_id}", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "KIOSK_NOT_FOUND"


async def test_enrol_unknown_location_is_404(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        BASE,
        json={"name": "Nowhere", "location_id": "00000000-0000-0000-0000-000000000000"},
        headers=org.headers(org.admin),
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "LOCATION_NOT_FOUND"


@pytest.mark.parametrize(
    "body", [{"name": "x" * 121, "location_id": None}, {"name": "a\x00b", "location_id": None}]
)
async def test_enrol_validates_name(
    client: httpx.AsyncClient, org: Org, body: dict[str, Any]
) -> None:
    body["location_id"] = str(org.location.id)
    response = await client.post(BASE, json=body, headers=org.headers(org.admin))
    assert response.status_code == 422
    assert "body.name" in response.text


async def test_hr_enrols_and_repairs_but_cannot_revoke_or_bring_back(
    client: httpx.AsyncClient, org: Org
) -> None:
    hr = org.headers(org.hr)
    assert (await client.get(BASE, headers=hr)).status_code == 200
    response = await client.post(
        BASE, json={"name": "Door", "location_id": str(org.location.id)}, headers=hr
    )
    assert response.status_code == 201, response.text
    kiosk_id = response.json()["kiosk"]["id"]
    assert response.json()["pairing_code"]
    # An expired code gets replaced by HR without an administrator.
    again = await client.post(f"{BASE}/{kiosk_id}/pairing-code", headers=hr)
    assert again.status_code == 200
    assert again.json()["pairing_code"] != response.json()["pairing_code"]
    # Revoking, renaming and deleting stay with kiosks:write.
    assert (await client.post(f"{BASE}/{kiosk_id}/revoke", headers=hr)).status_code == 403
    assert (
        await client.put(f"{BASE}/{kiosk_id}", json={"name": "X"}, headers=hr)
    ).status_code == 403
    assert (await client.delete(f"{BASE}/{kiosk_id}", headers=hr)).status_code == 403
    # Once an admin revoked it, a new pairing code (which would bring it back) is the admin's.
    revoked = await client.post(f"{BASE}/{kiosk_id}/revoke", headers=org.headers(org.admin))
    assert revoked.status_code == 200
    refused = await client.post(f"{BASE}/{kiosk_id}/pairing-code", headers=hr)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "KIOSK_REVOKED_NEEDS_ADMIN"
    back = await client.post(f"{BASE}/{kiosk_id}/pairing-code", headers=org.headers(org.admin))
    assert back.status_code == 200


async def test_supervisor_cannot_enrol(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        BASE,
        json={"name": "Sneaky", "location_id": str(org.location.id)},
        headers=org.headers(org.supervisor),
    )
    assert response.status_code == 403


async def test_pair_is_rate_limited_per_ip(client: httpx.AsyncClient, org: Org) -> None:
    org.settings.rate_limit_kiosk_pair_per_minute = 3
    codes = [await _pair(client, "WRONGCODE") for _ in range(4)]
    assert [r.status_code for r in codes] == [400, 400, 400, 429]
    assert codes[-1].json()["error"]["code"] == "RATE_LIMITED"
    assert int(codes[-1].headers["Retry-After"]) > 0
    # Every limited answer, the 429 too, says where the caller stands.
    assert [r.headers["X-RateLimit-Remaining"] for r in codes] == ["2", "1", "0", "0"]
    assert codes[-1].headers["X-RateLimit-Limit"] == "3"
    assert int(codes[-1].headers["X-RateLimit-Reset"]) > 0
    # A new window lets the device try again.
    org.clock.advance(minutes=1)
    assert (await _pair(client, "WRONGCODE")).status_code == 400


async def test_kiosk_with_scans_cannot_be_deleted(
    client: httpx.AsyncClient, org: Org, kiosk: tuple[Kiosk, str], session: AsyncSession
) -> None:
    row, _ = kiosk
    session.add(
        ScanEvent(
            kiosk_id=row.id,
            client_scan_id="s-1",
            payload_hash="0" * 64,
            code_data="TW1:X",
            result="rejected",
            error_code="INVALID_QR_CODE",
            response={},
        )
    )
    await session.flush()
    response = await client.delete(f"{BASE}/{row.id}", headers=org.headers(org.admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "KIOSK_IN_USE"
    count = await session.scalar(select(func.count()).where(Kiosk.id == row.id))
    assert count == 1
