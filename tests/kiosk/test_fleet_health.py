"""Fleet health on the kiosks list: the offline-queue length each kiosk reports, its clock
offset, and whether a silent-kiosk incident is open for it."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.kiosk.models import Kiosk
from tapwork.notification import incidents
from tests.support.personas import Org

BASE = "/api/v1/kiosks"


async def test_the_queue_length_is_recorded_whenever_it_changes(
    client: httpx.AsyncClient, org: Org, kiosk: tuple[Kiosk, str], session: AsyncSession
) -> None:
    row, token = kiosk
    assert row.offline_queue is None  # never reported

    async def me(queue: str | None) -> None:
        headers = {"X-Kiosk-Token": token}
        if queue is not None:
            headers["X-Kiosk-Queue"] = queue
        assert (await client.get(f"{BASE}/me", headers=headers)).status_code == 200
        await session.refresh(row)

    await me("12")
    assert row.offline_queue == 12
    org.clock.advance(seconds=5)  # within the 30 s telemetry throttle: a change still counts
    await me("0")
    assert row.offline_queue == 0
    for ignored in ("-3", "lots", "1e3", "+4", "9" * 13, ""):
        await me(ignored)
        assert row.offline_queue == 0, ignored
    await me(None)  # an app that does not report keeps the last value
    assert row.offline_queue == 0
    await me("99999999999")
    assert row.offline_queue == 1_000_000  # capped


async def test_admins_see_queue_offset_and_silence_in_the_list(
    client: httpx.AsyncClient, org: Org, kiosk: tuple[Kiosk, str], session: AsyncSession
) -> None:
    row, _ = kiosk
    row.offline_queue, row.clock_offset_ms, row.last_seen_at = 7, -95_000, org.clock()
    await session.flush()
    raised = await incidents.raise_incident(
        session,
        f"kiosk.silent.{row.id}",
        code="kiosk.silent",
        params={
            "kiosk": "Front door",
            "location": "HQ",
            "timezone": "Europe/Madrid",
            "minutes": 15,
            "last_seen_at": org.clock().isoformat(),
        },
        now=org.clock(),
    )
    assert raised is not None

    listed = await client.get(BASE, headers=org.headers(org.hr))
    one = await client.get(f"{BASE}/{row.id}", headers=org.headers(org.hr))

    [item] = [k for k in listed.json()["items"] if k["id"] == str(row.id)]
    assert (item["offline_queue"], item["clock_offset_ms"]) == (7, -95_000)
    assert item["silent_since"] is not None
    assert one.json()["silent_since"] == item["silent_since"]

    await incidents.clear_incident(session, f"kiosk.silent.{row.id}", now=org.clock())
    listed = await client.get(BASE, headers=org.headers(org.hr))
    [item] = [k for k in listed.json()["items"] if k["id"] == str(row.id)]
    assert item["silent_since"] is None
