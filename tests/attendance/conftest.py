"""Scan helpers: a badge for a persona and a kiosk client that scans it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.badge import service as badge_service
from tapwork.config import Settings
from tapwork.user.models import User
from tests.support.clock import FrozenClock

_ids = itertools.count(1)


async def badge_code(session: AsyncSession, user: User, settings: Settings, now: datetime) -> str:
    badge = await badge_service.ensure_active(session, user, now=now, settings=settings)
    await session.flush()
    return badge.code_data


class Scanner:
    """Posts scans as one kiosk; each call uses a fresh client scan id unless given one."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    async def scan(
        self, code: str, *, scan_id: str | None = None, captured_at: datetime | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"code_data": code, "client_scan_id": scan_id or f"s-{next(_ids)}"}
        if captured_at is not None:
            body["captured_at"] = captured_at.isoformat()
        return await self.client.post("/api/v1/attendance", json=body, headers=self.headers)


@pytest.fixture
def scanner(client: httpx.AsyncClient, kiosk_headers: dict[str, str]) -> Scanner:
    return Scanner(client, kiosk_headers)


AtMadrid = Callable[..., datetime]
"""Sets the clock to a Madrid wall time: `at_madrid(y, m, d, hh, mm=0)`."""


@pytest.fixture
def at_madrid(clock: FrozenClock) -> AtMadrid:
    """Set the clock to a local Madrid wall time (the org's location)."""
    from zoneinfo import ZoneInfo

    def set_local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
        clock.set(datetime(y, m, d, hh, mm, tzinfo=ZoneInfo("Europe/Madrid")))
        return clock()

    return set_local
