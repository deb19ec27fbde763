"""A long export keeps its heartbeat moving, so housekeeping never fails it as abandoned."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.report import exports

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_heartbeat_moves_on_with_the_run(session: AsyncSession) -> None:
    writer = exports._Writer(session, uuid.uuid4(), NOW, chunk_bytes=1024, every=1.0)
    first = writer.heartbeat()
    await asyncio.sleep(0.05)
    later = writer.heartbeat()
    assert NOW <= first < later
    # A run's heartbeat stays on its own clock (tests move `now`; the worker's is real time).
    assert (later - NOW).total_seconds() < 60
