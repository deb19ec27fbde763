"""Notification housekeeping run by the worker. Delivery itself is the worker's outbox loop."""

from __future__ import annotations

import structlog

from tapwork.notification.delivery import prune_sent
from tapwork.worker import jobs
from tapwork.worker.jobs import app

log = structlog.get_logger("tapwork.notification.jobs")


@app.periodic(cron="17 3 * * *", periodic_id="prune_sent_mail")
@app.task(name="notification.prune_sent_mail", queueing_lock="prune_sent_mail")
async def prune_sent_mail(timestamp: int) -> int:
    """Daily: forget delivered mail older than `outbox_retention_days` (failed mail stays)."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        deleted = await prune_sent(
            session, now=runtime.now(), retention_days=runtime.settings.outbox_retention_days
        )
    log.info("outbox_pruned", deleted=deleted)
    return deleted
