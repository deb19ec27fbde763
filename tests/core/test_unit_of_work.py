"""`tapwork.db.unit_of_work`: the one place a request, task or CLI command commits."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.db import unit_of_work


class Boom(Exception):
    pass


async def _count(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> int:
    async with sessionmaker() as session:
        found = await session.scalar(
            text("SELECT count(*) FROM rate_limits WHERE key = :key"), {"key": key}
        )
    return int(found or 0)


async def _insert(session: AsyncSession, key: str) -> None:
    await session.execute(
        text(
            "INSERT INTO rate_limits (key, window_start, hits, expires_at) "
            "VALUES (:key, now(), 1, now() + interval '1 minute')"
        ),
        {"key": key},
    )


async def test_a_block_that_ends_is_committed(
    committed_db: async_sessionmaker[AsyncSession],
) -> None:
    key = f"uow-test:{uuid.uuid4()}"
    async with unit_of_work(committed_db) as session:
        await _insert(session, key)
    # Seen from another connection: the row was committed, not merely flushed.
    assert await _count(committed_db, key) == 1


async def test_a_block_that_raises_is_rolled_back(
    committed_db: async_sessionmaker[AsyncSession],
) -> None:
    key = f"uow-test:{uuid.uuid4()}"

    async def failing_unit() -> None:
        async with unit_of_work(committed_db) as session:
            await _insert(session, key)
            await session.flush()
            raise Boom

    with pytest.raises(Boom):
        await failing_unit()
    assert await _count(committed_db, key) == 0
