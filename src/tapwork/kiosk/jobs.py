"""The silent-kiosk watch: an incident (one admin alert) per kiosk that stops answering while
its location is open, closed when it is heard from again (kiosk/health.py has the rules)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.config import Settings
from tapwork.kiosk.health import SILENT_PREFIX, Watched, watched_kiosks
from tapwork.notification import alerts, incidents
from tapwork.worker import jobs
from tapwork.worker.jobs import app


def _params(watched: Watched, threshold: timedelta) -> dict[str, Any]:
    """The silent-kiosk alert's facts (notification/alerts.py writes them in each language)."""
    kiosk = watched.kiosk
    assert kiosk.last_seen_at is not None
    return {
        "kiosk": kiosk.name,
        "location": kiosk.location.name,
        "timezone": kiosk.location.timezone,
        "minutes": int(threshold.total_seconds() // 60),
        "last_seen_at": kiosk.last_seen_at.isoformat(),
    }


async def watch_kiosks(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Raise `kiosk.silent.<id>` for each kiosk silent during opening hours; close it once
    the kiosk is heard from again (or is revoked, unpaired or deleted). Returns how many
    kiosks are silent now."""
    threshold = timedelta(minutes=settings.kiosk_silent_minutes)
    watched = await watched_kiosks(session, now=now, threshold=threshold)
    open_keys = await incidents.open_since(session, SILENT_PREFIX)
    silent = 0
    for entry in watched:
        key = f"{SILENT_PREFIX}{entry.kiosk.id}"
        last_seen = entry.kiosk.last_seen_at
        if key in open_keys:
            opened = open_keys.pop(key)
            if last_seen is not None and last_seen > opened:
                await incidents.clear_incident(session, key, now=now)
            else:
                silent += 1
            continue
        if entry.silent_since is not None:
            await incidents.raise_incident(
                session, key, code=alerts.KIOSK_SILENT, params=_params(entry, threshold), now=now
            )
            silent += 1
    for key in open_keys:  # kiosks no longer watched: revoked, unpaired or deleted
        await incidents.clear_incident(session, key, now=now)
    return silent


@app.periodic(cron="* * * * *", periodic_id="watch_kiosks")
@app.task(name="kiosk.watch_kiosks", queueing_lock="watch_kiosks")
async def watch_kiosks_task(timestamp: int) -> int:
    """Every minute: admins hear once about a kiosk that went silent in opening hours."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        return await watch_kiosks(session, now=runtime.now(), settings=runtime.settings)
