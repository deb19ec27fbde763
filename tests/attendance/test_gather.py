"""The lane's short wait for a busy door's scans between batches (`ScanBatcher._gather`): a
batch costs ~2 ms of CPU whatever its size, so one or two scans should not get a transaction
of their own while the kiosks just answered are about to send again; a lone scan never waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tapwork.attendance import batcher as batcher_module
from tapwork.attendance.batcher import ScanBatcher
from tapwork.attendance.scan import ScanRequest
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
    batcher = ScanBatcher(engine, settings)
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


async def test_a_lone_scan_or_a_full_queue_does_not_wait(
    busy: Busy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batcher_module, "GATHER_SECONDS", 30.0)
    await asyncio.wait_for(busy.batcher._gather(10), 1)  # nothing waiting: the lane exits at once
    for n in range(5):
        busy.submit(n)
    await _settle()
    await asyncio.wait_for(busy.batcher._gather(10), 1)  # half of the last batch is already here
    await asyncio.wait_for(busy.batcher._gather(1), 1)  # after a lone scan, no waiting either


async def test_a_busy_doors_scans_are_gathered_until_half_are_back(
    busy: Busy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batcher_module, "GATHER_SECONDS", 30.0)
    busy.submit(0)
    await _settle()
    gathering = asyncio.create_task(busy.batcher._gather(10))
    await _settle()
    assert not gathering.done()  # 1 of the 10 just answered is back: wait for more
    for n in range(1, 4):
        busy.submit(n)
    await _settle()
    assert not gathering.done()
    busy.submit(4)  # the fifth: half of the last batch
    await asyncio.wait_for(gathering, 1)
    assert len(busy.batcher._waiting) == 5


async def test_the_wait_for_company_is_bounded(busy: Busy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batcher_module, "GATHER_SECONDS", 0.05)
    busy.submit(0)
    await _settle()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(busy.batcher._gather(10), 5)
    assert loop.time() - started >= 0.04  # it did wait, and then went on alone
