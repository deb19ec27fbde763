"""Scan rate limits with real commits: a badge's scans counted from its scan events, a kiosk's
counted in the process and written to `rate_limits` about once a second
(`attendance/scan/counts.py`)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.scan.counts import KioskCounts, kiosk_key
from tapwork.config import Settings
from tests.attendance.test_concurrency import build_world, idle, live_client  # noqa: F401
from tests.attendance.test_group_commit import second_process  # noqa: F401
from tests.support.clock import FrozenClock

URL = "/api/v1/attendance"


def _scan(code: str, scan_id: str) -> dict[str, str]:
    return {"code_data": code, "client_scan_id": scan_id}


async def _kiosk_hits(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        hits = await session.scalar(
            text("SELECT coalesce(sum(hits), 0) FROM rate_limits WHERE key LIKE 'scan:kiosk:%'")
        )
    return int(hits or 0)


async def test_a_badge_limit_holds_across_processes(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    second_process: httpx.AsyncClient,  # noqa: F811
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """The badge's scan events are its count: whichever process took the first three scans
    of the minute, the fourth is refused, and the next minute starts afresh."""
    client, clock = live_client
    settings.rate_limit_scan_per_badge_per_minute = 3
    world = await build_world(committed_db, settings, kiosks=2, users=1)
    statuses = []
    for n, app in enumerate([client, second_process, client, second_process]):
        response = await app.post(URL, json=_scan(world.codes[0], f"limit-{n}"),
                                  headers={"X-Kiosk-Token": world.tokens[n % 2]})  # fmt: skip
        statuses.append(response.status_code)
    assert statuses == [200, 409, 409, 429]  # check-in, two duplicates, then the limit
    clock.advance(minutes=1)
    later = await client.post(URL, json=_scan(world.codes[0], "next-minute"),
                              headers={"X-Kiosk-Token": world.tokens[0]})  # fmt: skip
    assert later.status_code == 200, later.text
    assert later.json()["action"] == "check_out"


async def test_a_quiet_door_writes_its_count_with_its_scan(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """A scan more than a second after the last write carries its kiosk count in its own
    transaction: committed with it, no extra transaction afterwards."""
    client, _ = live_client
    world = await build_world(committed_db, settings, kiosks=1, users=1)
    response = await client.post(URL, json=_scan(world.codes[0], "quiet"),
                                 headers={"X-Kiosk-Token": world.tokens[0]})  # fmt: skip
    assert response.status_code == 200, response.text
    assert await _kiosk_hits(committed_db) == 1
    batcher = client._transport.app.state.scan_batcher  # type: ignore[attr-defined]
    assert not batcher.counts.pending


async def test_busy_kiosk_counts_wait_then_reach_the_other_process(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    second_process: httpx.AsyncClient,  # noqa: F811
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Scans inside the write interval are counted in the process (its own limit stays
    exact) and written when the lanes go idle; then the other process refuses the kiosk."""
    client, _ = live_client
    settings.rate_limit_scan_per_kiosk_per_minute = 3
    world = await build_world(committed_db, settings, kiosks=1, users=5)
    headers = {"X-Kiosk-Token": world.tokens[0]}
    first = await client.post(URL, json=_scan(world.codes[0], "busy-0"), headers=headers)
    assert first.status_code == 200, first.text
    batcher = client._transport.app.state.scan_batcher  # type: ignore[attr-defined]
    batcher.counts.every = 3600.0  # the next write is not due during this test
    for n in (1, 2):
        response = await client.post(URL, json=_scan(world.codes[n], f"busy-{n}"), headers=headers)
        assert response.status_code == 200, response.text
    assert await _kiosk_hits(committed_db) == 1  # two counted here, not yet written
    over = await client.post(URL, json=_scan(world.codes[3], "busy-3"), headers=headers)
    assert over.status_code == 429  # this process counts its own unwritten scans
    await idle(client)  # the lanes are idle: the counts are written
    assert await _kiosk_hits(committed_db) == 4  # attempts count, the refused one too
    elsewhere = await second_process.post(URL, json=_scan(world.codes[4], "busy-4"),
                                          headers=headers)  # fmt: skip
    assert elsewhere.status_code == 429, elsewhere.text


def test_counts_a_failed_write_carried_are_kept_for_the_next() -> None:
    counts = KioskCounts(every=3600.0)
    key = kiosk_key("k1", datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert counts.take() == Counter()  # the first write is due: it carries its own
    counts.written()
    counts.add(Counter({key: 2}))
    assert counts.take() is None  # not due for an hour
    taken = counts.take(now=True)
    assert taken == Counter({key: 2})
    counts.add(Counter({key: 1}))  # a batch committed while the write is in flight
    assert counts.local(key) == 3
    assert counts.take(now=True) is None  # one write at a time
    counts.failed()
    assert counts.local(key) == 3
    assert counts.take(now=True) == Counter({key: 3})
    counts.written()
    assert counts.local(key) == 0
    assert counts.take(now=True) is None  # nothing left to write
