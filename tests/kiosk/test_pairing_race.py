"""Two devices racing to exchange one pairing code: exactly one gets a token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.kiosk import service as kiosks
from tapwork.kiosk.errors import PairingCodeInvalid
from tapwork.kiosk.schemas import KioskCreate
from tapwork.kit.actor import SYSTEM
from tests.support import factories as f

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def test_pairing_code_exchanged_once_under_race(
    committed_db: async_sessionmaker[AsyncSession], base_settings: Settings
) -> None:
    async with committed_db() as s:
        location = await f.make_location(s)
        _, code = await kiosks.create(
            s,
            KioskCreate(name="Race", location_id=location.id),
            actor=SYSTEM,
            now=T0,
            settings=base_settings,
        )
        await s.commit()

    async with committed_db() as a, committed_db() as b:
        await kiosks.pair(a, code, app_version=None, now=T0)
        loser = asyncio.create_task(kiosks.pair(b, code, app_version=None, now=T0))
        for _ in range(200):  # bounded polling until b waits on a's row lock
            async with committed_db() as probe:
                waiting = await probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                )
            if waiting:
                break
            await asyncio.sleep(0.01)
        await a.commit()
        with pytest.raises(PairingCodeInvalid):
            await loser
        await b.rollback()
