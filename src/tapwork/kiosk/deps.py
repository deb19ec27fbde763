"""`CurrentKiosk`: the kiosk behind `X-Kiosk-Token`, for every kiosk-facing endpoint.

This runs on every scan, so it costs one indexed SELECT, and writes the kiosk's telemetry
(last seen, app version, clock offset) at most once per `SEEN_WRITE_INTERVAL` per kiosk:
a busy door does not pay an UPDATE (and a row lock that serialises its scans) per badge.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader
from sqlalchemy import select

from tapwork.badge import keys as badge_keys
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now, client_ip
from tapwork.kiosk.errors import KioskRevoked, KioskUnauthorized
from tapwork.kiosk.models import Kiosk
from tapwork.kit.actor import Actor
from tapwork.kit.security import hash_token

SEEN_WRITE_INTERVAL = timedelta(seconds=30)
MAX_TOKEN_LENGTH = 200
MAX_VERSION_LENGTH = 32  # kiosks.app_version
_INT32 = 2**31 - 1

_kiosk_token = APIKeyHeader(
    name="X-Kiosk-Token",
    auto_error=False,
    description="Device token from POST /api/v1/kiosks/pair",
)


def clock_offset_ms(kiosk_time: str | None, now: datetime) -> int | None:
    """Kiosk clock minus server clock in ms, from an ISO-8601 `X-Kiosk-Time`; None if the
    header is absent, unparsable or has no timezone."""
    if not kiosk_time or len(kiosk_time) > 64:
        return None
    try:
        at = datetime.fromisoformat(kiosk_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    offset = round((at - now).total_seconds() * 1000)
    return max(-_INT32, min(_INT32, offset))


def _clean_version(version: str | None) -> str | None:
    if not version:
        return None
    version = version.strip()[:MAX_VERSION_LENGTH]
    return version if version and "\x00" not in version else None


def record_telemetry(
    kiosk: Kiosk, *, now: datetime, version: str | None, kiosk_time: str | None
) -> bool:
    """Update last_seen/app_version/clock_offset on the ORM object if the last write is older
    than the interval or the version changed. Returns whether anything was written."""
    version = _clean_version(version)
    stale = kiosk.last_seen_at is None or now - kiosk.last_seen_at >= SEEN_WRITE_INTERVAL
    new_version = version is not None and version != kiosk.app_version
    if not (stale or new_version):
        return False
    kiosk.last_seen_at = now
    if version is not None:
        kiosk.app_version = version
    offset = clock_offset_ms(kiosk_time, now)
    if offset is not None:
        kiosk.clock_offset_ms = offset
    return True


async def current_kiosk(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    token: Annotated[str | None, Depends(_kiosk_token)],
    x_kiosk_version: Annotated[str | None, Header()] = None,
    x_kiosk_time: Annotated[str | None, Header()] = None,
) -> Kiosk:
    # The scan path verifies badges with the app's secret (see badge.keys.default_keyring).
    badge_keys.keyring(settings)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise KioskUnauthorized()
    kiosk = await session.scalar(select(Kiosk).where(Kiosk.token_hash == hash_token(token)))
    if kiosk is None:
        raise KioskUnauthorized()
    if kiosk.revoked_at is not None:
        raise KioskRevoked()
    record_telemetry(kiosk, now=now, version=x_kiosk_version, kiosk_time=x_kiosk_time)
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
