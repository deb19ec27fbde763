"""Housekeeping of the limiters: expired rate-limit windows and forgotten sign-in failures."""

from __future__ import annotations

import structlog

from tapwork.auth import throttle
from tapwork.kit import ratelimit
from tapwork.worker import jobs
from tapwork.worker.jobs import app

log = structlog.get_logger("tapwork.auth")


@app.periodic(cron="7 * * * *", periodic_id="limiter_purge")
@app.task(name="auth.purge_limiters", queueing_lock="limiter_purge")
async def purge_limiters(timestamp: int) -> int:
    """Hourly, once across all workers: both tables only grow between purges (a row per key
    and window), so this bounds them to about an hour of traffic."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        now = runtime.now()
        purged = await ratelimit.purge_expired(session, now)
        purged += await throttle.purge_expired(session, now)
    if purged:
        log.info("limiters_purged", rows=purged)
    return purged
