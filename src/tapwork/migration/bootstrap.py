"""Bringing a database to a usable state: migrations plus the seeded system roles."""

from __future__ import annotations

import asyncio

from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker, unit_of_work
from tapwork.migration.revisions import upgrade
from tapwork.role.service import sync_system_roles


async def migrate_database(settings: Settings, revision: str = "head") -> None:
    # Alembic's env runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade, settings.database_url, revision)
    engine = create_engine(settings)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await sync_system_roles(session)
    finally:
        await engine.dispose()
