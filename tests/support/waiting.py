"""Waiting for real processes: poll a condition until it holds or a bound passes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def until(
    check: Callable[[], Awaitable[bool]], within: float, what: str, every: float = 0.05
) -> None:
    """Return once `check()` is true; fail naming `what` after `within` seconds (a bound on a
    hang, not a performance figure)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
