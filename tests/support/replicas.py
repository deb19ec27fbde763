"""Several API processes' worth of state in one test: each app its own engine and pool, all on
the test database, as replicas behind a load balancer would be."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker
from tapwork.main import create_app
from tests.support.clock import FrozenClock


@asynccontextmanager
async def replicas(
    settings: Settings, clock: FrozenClock, count: int = 2
) -> AsyncIterator[list[FastAPI]]:
    apps = []
    for _ in range(count):
        app = create_app(settings, clock=clock)
        app.state.engine = create_engine(settings, pool_size=2, max_overflow=0)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        apps.append(app)
    try:
        yield apps
    finally:
        for app in apps:
            await app.state.engine.dispose()
