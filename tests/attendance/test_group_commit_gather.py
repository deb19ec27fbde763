"""The lane's short wait for a busy door's scans between batches (`ScanBatcher._gather`): a
batch costs ~1 ms of CPU whatever its size, so the first few scans back should not get a
transaction of their own while the rest of the kiosks just answered are about to send again.
The wait lasts at most as long as the batch took (capped); a lone scan never waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tapwork.attendance.scan import group_commit as batcher_module
from tapwork.attendance.scan.group_commit import LanePool, ScanBatcher
from tapwork.attendance.scan.request import ScanRequest
from tapwork.config import Settings
from tapwork.kit.clock import utcnow


@dataclass
class Busy:
    """A batcher whose only lane is busy with a batch: scans submitted now queue up."""

    batcher: ScanBatcher
    submitted: list[asyncio.Task[object]] = field(default_factory=list)

    def submit(self, n: int) -> None:
        req = ScanRequest(kiosk_token=f"token-{n}", code_data="not a badge",
                          client_scan_id=f"gather-{n}", captured_at=None, now=utcnow())  # fmt: skip
        self.submitted.append(asyncio.create_task(self.batcher.submit(req)))


@pytest.fixture
async def busy(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Busy]:
    batcher = ScanBatcher(LanePool(engine, settings.scan_batch_connections), settings)
    batcher._running = batcher.lanes
    state = Busy(batcher)
    yield state
    for task in state.submitted:
        task.cancel()
    await asyncio.gather(*state.submitted, return_exceptions=True)
    await batcher.pool.dispose()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_lone_scan_or_a_full_queue_does_not_wait(busy: Busy) -> None:
    took = 30.0  # a batch that took long: any wait would show
    await asyncio.wait_for(busy.batcher._gather(10, took), 1)  # nothing waiting: exits at once
    for n in range(10):
        busy.submit(n)
    await _settle()
    await asyncio.wait_for(busy.batcher._gather(10, took), 1)  # as many as it answered are back
    await asyncio.wait_for(busy.batcher._gather(1, took), 1)  # after a lone scan, no waiting


async def test_a_busy_doors_scans_are_gathered_until_all_are_back(
    busy: Busy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batcher_module, "GATHER_MAX_SECONDS", 30.0)
    busy.submit(0)
    await _settle()
    gathering = asyncio.create_task(busy.batcher._gather(5, 30.0))
    await _settle()
    assert not gathering.done()  # 1 of the 5 just answered is back: wait for the others
    for n in range(1, 4):
        busy.submit(n)
    await _settle()
    assert not gathering.done()
    busy.submit(4)  # the fifth: all of the last batch
    await asyncio.wait_for(gathering, 1)
    assert len(busy.batcher._waiting) == 5


async def test_the_wait_is_as_long_as_the_last_batch_took_and_capped(
    busy: Busy, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    busy.submit(0)
    await _settle()
    monkeypatch.setattr(batcher_module, "GATHER_MAX_SECONDS", 30.0)
    started = loop.time()
    await asyncio.wait_for(busy.batcher._gather(10, 0.05), 5)
    waited = loop.time() - started
    assert 0.04 <= waited < 5  # it waited about as long as the batch took, then went on
    monkeypatch.setattr(batcher_module, "GATHER_MAX_SECONDS", 0.05)
    started = loop.time()
    await asyncio.wait_for(busy.batcher._gather(10, 30.0), 5)  # a slow batch: the cap holds
    assert 0.04 <= loop.time() - started < 5
