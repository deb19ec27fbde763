"""App-wide dependencies: settings, the injected clock, the request's actor context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from tapwork.config import Settings


# async on purpose: FastAPI runs a sync dependency in the threadpool, a thread hop per request.
async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


AppSettings = Annotated[Settings, Depends(_settings)]
Now = Annotated[datetime, Depends(_now)]
