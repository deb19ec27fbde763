"""Kiosk telemetry (last seen, app version, clock offset): when it is due and what to write.

Every kiosk request reports it (headers `X-Kiosk-Version`, `X-Kiosk-Time`; the offline-queue
length `X-Kiosk-Queue` is read on kiosk calls other than the scan, see `kiosk.deps`), and a scan is
every kiosk request at a busy door, so it is written at most once per `SEEN_WRITE_INTERVAL`
per kiosk (or when the version changes): a door does not pay an UPDATE, and a row lock that
serialises its scans, per badge. `kiosk.deps.current_kiosk` applies it to the ORM object; the
scan's WRITE applies the same values in SQL (`attendance.scan.sql`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SEEN_WRITE_INTERVAL = timedelta(seconds=30)
MAX_VERSION_LENGTH = 32  # kiosks.app_version
_INT32 = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Telemetry:
    """What to write: `app_version` and `clock_offset_ms` only when known (None keeps the
    stored value)."""

    now: datetime
    app_version: str | None
    clock_offset_ms: int | None


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


MAX_QUEUE = 1_000_000


def queue_length(value: str | None) -> int | None:
    """The offline-queue length from `X-Kiosk-Queue` (decimal digits), None when absent or
    malformed; capped, since a device's IndexedDB cannot hold more than that in earnest."""
    if not value or len(value) > 12 or not value.isascii() or not value.isdigit():
        return None
    return min(int(value), MAX_QUEUE)


def clean_version(version: str | None) -> str | None:
    if not version:
        return None
    version = version.strip()[:MAX_VERSION_LENGTH]
    return version if version and "\x00" not in version else None


def due(
    last_seen_at: datetime | None,
    app_version: str | None,
    *,
    now: datetime,
    version: str | None,
    kiosk_time: str | None,
) -> Telemetry | None:
    """The telemetry to write for a kiosk last seen at `last_seen_at` running `app_version`,
    or None when the last write is recent and the version unchanged."""
    version = clean_version(version)
    stale = last_seen_at is None or now - last_seen_at >= SEEN_WRITE_INTERVAL
    if not stale and (version is None or version == app_version):
        return None
    return Telemetry(now, version, clock_offset_ms(kiosk_time, now))
