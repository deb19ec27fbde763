"""`CurrentKiosk`: the kiosk behind `X-Kiosk-Token`, for every kiosk-facing endpoint.

One indexed SELECT, and the kiosk's telemetry when it is due (`telemetry.py`). The scan does
the same lookup inside its READ (`attendance.scan.sql`); both start with `plausible_token`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader
from sqlalchemy import select

from tapwork.auth import refusals
from tapwork.db import DbSession
from tapwork.deps import Now, client_ip
from tapwork.kiosk import telemetry
from tapwork.kiosk.errors import KioskRevoked, KioskUnauthorized
from tapwork.kiosk.models import Kiosk
from tapwork.kit.actor import Actor
from tapwork.kit.security import hash_token

MAX_TOKEN_LENGTH = 200

_kiosk_token = APIKeyHeader(
    name="X-Kiosk-Token",
    auto_error=False,
    description="Device token from POST /api/v1/kiosks/pair",
)


def plausible_token(token: str | None) -> str:
    """The one kiosk-token check before any lookup (the FastAPI dependencies, and the scan's
    fast path through `attendance.scan.entry`): present and of a possible length, else 401
    (not 422). Whether it belongs to a live kiosk is then looked up by `current_kiosk`, or by
    the scan's READ with the same errors."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise KioskUnauthorized()
    return token


async def kiosk_token(token: Annotated[str | None, Depends(_kiosk_token)]) -> str:
    return plausible_token(token)


KioskToken = Annotated[str, Depends(kiosk_token)]


def record_telemetry(
    kiosk: Kiosk,
    *,
    now: datetime,
    version: str | None,
    kiosk_time: str | None,
    queue: str | None = None,
) -> bool:
    """Update last_seen/app_version/clock_offset on the ORM object when due (`telemetry.due`),
    and the offline-queue length whenever it changed (it is sent on the app's 5-minute refresh,
    not with scans, so it is never throttled away). Returns whether anything was written."""
    queued = telemetry.queue_length(queue)
    if queued is not None and queued != kiosk.offline_queue:
        kiosk.offline_queue = queued
    seen = telemetry.due(
        kiosk.last_seen_at, kiosk.app_version, now=now, version=version, kiosk_time=kiosk_time
    )
    if seen is None:
        return False
    kiosk.last_seen_at = now
    if seen.app_version is not None:
        kiosk.app_version = seen.app_version
    if seen.clock_offset_ms is not None:
        kiosk.clock_offset_ms = seen.clock_offset_ms
    return True


async def current_kiosk(
    request: Request,
    session: DbSession,
    now: Now,
    token: KioskToken,
    x_kiosk_version: Annotated[str | None, Header()] = None,
    x_kiosk_time: Annotated[str | None, Header()] = None,
    x_kiosk_queue: Annotated[str | None, Header()] = None,
) -> Kiosk:
    kiosk = await session.scalar(select(Kiosk).where(Kiosk.token_hash == hash_token(token)))
    if kiosk is None or kiosk.revoked_at is not None:
        await refusals.note(
            session, kind="kiosk", reason="unknown" if kiosk is None else "revoked",
            ip=client_ip(request), request_id=getattr(request.state, "request_id", None), now=now,
        )  # fmt: skip
        await session.commit()  # the note outlives the error answer
        raise KioskUnauthorized() if kiosk is None else KioskRevoked()
    record_telemetry(
        kiosk, now=now, version=x_kiosk_version, kiosk_time=x_kiosk_time, queue=x_kiosk_queue
    )
    request.state.kiosk = kiosk
    return kiosk


CurrentKiosk = Annotated[Kiosk, Depends(current_kiosk)]


def kiosk_actor(kiosk: Kiosk, request: Request) -> Actor:
    """The audit actor for something a kiosk did."""
    return Actor(
        type="kiosk",
        id=kiosk.id,
        label=kiosk.name,
        ip=client_ip(request),
        request_id=getattr(request.state, "request_id", None),
    )
