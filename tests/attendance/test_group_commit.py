"""Group commit, with real commits: scans that arrive together share a transaction, yet each
gets the answer it would have got alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.config import Settings
from tapwork.main import create_app
from tapwork.user.models import User
from tests.attendance.test_concurrency import build_world, idle, live_client  # noqa: F401
from tests.attendance.test_statements import sent, wire
from tests.support.clock import FrozenClock

URL = "/api/v1/attendance"


def _scan(code: str, scan_id: str) -> dict[str, str]:
    return {"code_data": code, "client_scan_id": scan_id}


async def test_scans_arriving_together_share_transactions_and_each_is_applied(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    client, _ = live_client
    n = 24
    world = await build_world(committed_db, settings, kiosks=3, users=n)
    await client.post(URL, json=_scan(world.codes[0], "warm-up"),
                      headers={"X-Kiosk-Token": world.tokens[0]})  # fmt: skip
    await idle(client)
    pool = client._transport.app.state.scan_batcher.pool  # type: ignore[attr-defined]
    with wire(pool) as lines:
        responses = await asyncio.gather(*(
            client.post(URL, json=_scan(code, f"together-{i}"),
                        headers={"X-Kiosk-Token": world.tokens[i % 3]})
            for i, code in enumerate(world.codes[1:], start=1)
        ))  # fmt: skip
        await idle(client)
    assert [r.status_code for r in responses] == [200] * (n - 1), [r.text for r in responses]
    assert {r.json()["employee"]["id"] for r in responses} == {str(u) for u in world.user_ids[1:]}
    assert all(r.json()["action"] == "check_in" for r in responses)
    reads = [q for q in sent(lines) if "EXECUTE tapwork_scan_read" in q]
    assert 1 <= len(reads) < n - 1, f"{len(reads)} transactions for {n - 1} scans"
    async with committed_db() as session:
        open_records = await session.scalar(
            select(func.count()).select_from(AttendanceRecord)
            .where(AttendanceRecord.check_out_at.is_(None))
        )  # fmt: skip
    assert open_records == n


async def test_a_badge_scanned_twice_at_once_is_decided_in_order(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """In one process the second scan of a badge waits for the batch holding the first, so it
    sees the open record: a check-out, not a lost race."""
    settings.scan_debounce_seconds = 0
    settings.min_rest_minutes = 0
    client, _ = live_client
    world = await build_world(committed_db, settings, kiosks=2, users=1)
    first, second = await asyncio.gather(*(
        client.post(URL, json=_scan(world.codes[0], f"twice-{k}"),
                    headers={"X-Kiosk-Token": world.tokens[k]})
        for k in (0, 1)
    ))  # fmt: skip
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert [first.json()["action"], second.json()["action"]] == ["check_in", "check_out"]


async def test_a_kiosk_limit_counts_each_scan_of_a_batch(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Scans of one kiosk sharing a batch are numbered in arrival order against the kiosk's
    limit: a burst of 6 at a limit of 3 lets exactly 3 through, however it is batched."""
    settings.rate_limit_scan_per_kiosk_per_minute = 3
    client, _ = live_client
    world = await build_world(committed_db, settings, kiosks=1, users=6)
    responses = await asyncio.gather(*(
        client.post(URL, json=_scan(code, f"burst-{i}"), headers={"X-Kiosk-Token": world.tokens[0]})
        for i, code in enumerate(world.codes)
    ))  # fmt: skip
    assert sorted(r.status_code for r in responses) == [200] * 3 + [429] * 3
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 429} == {
        "RATE_LIMITED"
    }
    async with committed_db() as session:
        records = await session.scalar(select(func.count()).select_from(AttendanceRecord))
    assert records == 3


async def test_quotes_and_backslashes_in_scan_ids_and_names_go_through_intact(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """The lanes send the batch's JSON inline in the SQL text: nothing in it may end the
    literal early or be read as an escape."""
    client, _ = live_client
    world = await build_world(committed_db, settings, kiosks=1, users=1)
    async with committed_db() as session:
        await session.execute(
            update(User).where(User.id == world.user_ids[0])
            .values(first_name="O'Brien\\", last_name="'); DROP TABLE users; --")
        )  # fmt: skip
        await session.commit()
    scan_id = "it's\\'; SELECT 1; --\\"
    body = _scan(world.codes[0], scan_id)
    headers = {"X-Kiosk-Token": world.tokens[0]}
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["employee"]["display_name"] == "O'Brien\\ '); DROP TABLE users; --"
    replay = await client.post(URL, json=body, headers=headers)
    assert replay.json() == response.json()
    async with committed_db() as session:
        stored = await session.scalar(select(ScanEvent.client_scan_id))
        users = await session.scalar(text("SELECT count(*) FROM users"))
    assert stored == scan_id
    assert users == 1


@pytest.fixture
async def second_process(
    committed_db: async_sessionmaker[AsyncSession], engine: AsyncEngine, settings: Settings,
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
) -> AsyncIterator[httpx.AsyncClient]:  # fmt: skip
    """Another app on the same database, with its own batcher: a second API process."""
    app = create_app(settings, clock=live_client[1])
    app.state.engine, app.state.sessionmaker = engine, committed_db
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    batcher = getattr(app.state, "scan_batcher", None)
    if batcher is not None:
        await batcher.close()


async def test_a_scan_id_retried_through_two_processes_applies_once_and_spares_its_batch(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    second_process: httpx.AsyncClient,
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """The kiosk resends a scan to the other process while the first is still in flight,
    each amid other scans. However the two batches meet (the unique scan id refuses one
    batch's write, which then reruns its scans one by one), the scan is applied once, both
    answers are the same, and every other scan of both batches is applied."""
    client, _ = live_client
    world = await build_world(committed_db, settings, kiosks=1, users=9)
    headers = {"X-Kiosk-Token": world.tokens[0]}
    retried = _scan(world.codes[0], "resent")
    others_a = [_scan(code, f"a-{i}") for i, code in enumerate(world.codes[1:5])]
    others_b = [_scan(code, f"b-{i}") for i, code in enumerate(world.codes[5:9])]
    calls = [client.post(URL, json=b, headers=headers) for b in [retried, *others_a]]
    calls += [second_process.post(URL, json=b, headers=headers) for b in [retried, *others_b]]
    responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    assert responses[0].json() == responses[5].json()
    async with committed_db() as session:
        events = await session.scalar(
            select(func.count()).select_from(ScanEvent).where(ScanEvent.client_scan_id == "resent")
        )
        records = await session.scalar(select(func.count()).select_from(AttendanceRecord))
    assert events == 1
    assert records == 9
