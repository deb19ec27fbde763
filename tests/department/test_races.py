"""Two requests that both pass the pre-check: the database decides, the loser gets the 409."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.department import service
from tapwork.department.errors import DepartmentNameTaken
from tapwork.department.schemas import DepartmentCreate
from tapwork.kit.actor import SYSTEM


async def _wait_until_blocked(observer: AsyncSession) -> None:
    for _ in range(200):  # bounded polling, at most ~10 s
        waiting = await observer.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
        # pg_stat_activity is read once per transaction: end it, or every poll sees the first.
        await observer.rollback()
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the second insert never waited on the first")


async def test_concurrent_creates_with_one_name_give_one_409(
    committed_db: async_sessionmaker[AsyncSession],
) -> None:
    async with committed_db() as first, committed_db() as second, committed_db() as observer:
        await service.create(first, DepartmentCreate(name="Race"), actor=SYSTEM)
        # `second` passes the pre-check (the first row is not committed) and blocks on the index.
        loser = asyncio.create_task(
            service.create(second, DepartmentCreate(name="Race"), actor=SYSTEM)
        )
        await _wait_until_blocked(observer)
        await first.commit()
        with pytest.raises(DepartmentNameTaken):
            await loser
        # The SAVEPOINT kept the loser's transaction usable.
        assert await second.scalar(text("SELECT count(*) FROM departments")) == 1
        await second.rollback()
