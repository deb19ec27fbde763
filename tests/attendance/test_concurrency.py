"""Proof with real commits: races between kiosks, replayed offline batches, forged codes."""

from __future__ import annotations

import asyncio
import random
import string
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.badge import codec
from tapwork.badge.errors import InvalidQrCode
from tapwork.config import Settings
from tapwork.kiosk.models import Kiosk
from tapwork.kit.security import hash_token, new_token
from tapwork.main import create_app
from tests.attendance.conftest import badge_code
from tests.support import factories as f
from tests.support.clock import FrozenClock

URL = "/api/v1/attendance"


@dataclass
class World:
    tokens: list[str]
    codes: list[str]
    user_ids: list[uuid.UUID]


async def build_world(
    maker: async_sessionmaker[AsyncSession], settings: Settings, *, kiosks: int, users: int
) -> World:
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    async with maker() as session:
        location = await f.make_location(session)
        shift = await f.make_shift(session)
        tokens, codes, ids = [], [], []
        for n in range(kiosks):
            token = new_token()
            session.add(Kiosk(name=f"K{n}", location_id=location.id, token_hash=hash_token(token),
                              paired_at=now))  # fmt: skip
            tokens.append(token)
        for _ in range(users):
            user = await f.make_user(session, shift=shift, location=location)
            codes.append(await badge_code(session, user, settings, now))
            ids.append(user.id)
        await session.commit()
    return World(tokens, codes, ids)


LiveClient = tuple[httpx.AsyncClient, FrozenClock]


@pytest.fixture
async def live_client(
    committed_db: async_sessionmaker[AsyncSession], engine: AsyncEngine, settings: Settings
) -> AsyncIterator[LiveClient]:
    """The app on committed sessions: each request its own transaction, as in production."""
    clock = FrozenClock(datetime(2026, 3, 2, 8, tzinfo=UTC))
    settings.rate_limit_scan_per_badge_per_minute = 100_000
    settings.rate_limit_scan_per_kiosk_per_minute = 100_000
    app = create_app(settings, clock=clock)
    app.state.engine, app.state.sessionmaker = engine, committed_db
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, clock
    # No scan lane may still hold a connection when the test's tables are cleaned.
    batcher = getattr(app.state, "scan_batcher", None)
    if batcher is not None:
        await batcher.close()


async def idle(client: httpx.AsyncClient) -> None:
    """Until the app's scan batcher has given its connections back (answers are sent when a
    batch commits, a moment before its lane returns the connection)."""
    app = client._transport.app  # type: ignore[attr-defined]
    batcher = getattr(app.state, "scan_batcher", None)
    if batcher is not None:
        await batcher.wait_idle()


async def _count(maker: async_sessionmaker[AsyncSession], *where) -> int:  # type: ignore[no-untyped-def]
    async with maker() as session:
        return int(
            await session.scalar(select(func.count()).select_from(where[0]).where(*where[1:])) or 0
        )


async def test_fifty_kiosks_racing_one_badge_make_one_open_record(
    committed_db: async_sessionmaker[AsyncSession], live_client: LiveClient, settings: Settings
) -> None:
    client, _ = live_client
    world = await build_world(committed_db, settings, kiosks=50, users=1)
    responses = await asyncio.gather(*(
        client.post(URL, json={"code_data": world.codes[0], "client_scan_id": f"race-{n}"},
                    headers={"X-Kiosk-Token": token})
        for n, token in enumerate(world.tokens)
    ))  # fmt: skip
    statuses = sorted(r.status_code for r in responses)
    assert all(s < 500 for s in statuses), [r.text for r in responses if r.status_code >= 500]
    assert statuses == [200] + [409] * 49
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "DUPLICATE_SCAN"
    }
    assert await _count(committed_db, AttendanceRecord) == 1
    assert (
        await _count(committed_db, AttendanceRecord, AttendanceRecord.check_out_at.is_(None)) == 1
    )
    assert await _count(committed_db, ScanEvent) == 50  # every attempt is on record


async def test_offline_batch_replayed_three_times_applies_once(
    committed_db: async_sessionmaker[AsyncSession], live_client: LiveClient, settings: Settings
) -> None:
    client, clock = live_client
    n = 20
    world = await build_world(committed_db, settings, kiosks=1, users=n)
    batch = [
        {"code_data": code, "client_scan_id": f"offline-{i}",
         "captured_at": (clock() - timedelta(hours=2, minutes=i)).isoformat()}
        for i, code in enumerate(world.codes)
    ]  # fmt: skip
    headers = {"X-Kiosk-Token": world.tokens[0]}
    first = await asyncio.gather(*(client.post(URL, json=b, headers=headers) for b in batch))
    assert [r.status_code for r in first] == [200] * n
    # The kiosk never heard back and resends everything, twice, all at once.
    replays = await asyncio.gather(
        *(client.post(URL, json=b, headers=headers) for b in batch + batch)
    )
    assert all(r.status_code == 200 for r in replays)
    assert [r.json() for r in replays] == [r.json() for r in first + first]
    assert await _count(committed_db, ScanEvent) == n
    assert await _count(committed_db, AttendanceRecord, AttendanceRecord.source == "offline") == n


def _forgeries(valid: str, count: int, rng: random.Random) -> list[str]:
    alphabet = string.ascii_uppercase + "234567:"
    out = []
    for _ in range(count):
        kind = rng.randrange(4)
        if kind == 0:  # one character altered
            i = rng.randrange(len(valid))
            out.append(valid[:i] + rng.choice(alphabet.replace(valid[i], "")) + valid[i + 1 :])
        elif kind == 1:  # truncated
            out.append(valid[: rng.randrange(len(valid))] or "T")
        elif kind == 2:  # well-formed, forged signature
            head = valid.rsplit(":", 1)[0]
            out.append(
                head
                + ":"
                + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(24))
            )
        else:  # noise
            out.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 128))))
    return [c for c in out if c != valid]


async def test_forged_codes_are_all_rejected(
    committed_db: async_sessionmaker[AsyncSession], live_client: LiveClient, settings: Settings
) -> None:
    client, _ = live_client
    world = await build_world(committed_db, settings, kiosks=1, users=1)
    rng = random.Random(20261201)
    forged = _forgeries(world.codes[0], 10_000, rng)
    assert len(forged) >= 9_990
    ring = codec.keyring_for(settings.badge_secret.get_secret_value())
    for code in forged:
        with pytest.raises(InvalidQrCode):
            codec.verify(code, ring)
    headers = {"X-Kiosk-Token": world.tokens[0]}
    # All 10,000 fail the codec; the endpoint (codec + database lookup) gets a sample of 300.
    sample = rng.sample(forged, 300)
    for chunk in range(0, len(sample), 50):
        responses = await asyncio.gather(*(
            client.post(URL, json={"code_data": code, "client_scan_id": f"forged-{chunk}-{i}"},
                        headers=headers)
            for i, code in enumerate(sample[chunk : chunk + 50])
        ))  # fmt: skip
        for code, response in zip(sample[chunk : chunk + 50], responses, strict=True):
            assert response.status_code == 400, (code, response.text)
            assert response.json()["error"]["code"] == "INVALID_QR_CODE"
    assert await _count(committed_db, AttendanceRecord) == 0
