"""Notification housekeeping run by the worker. Delivery itself is the worker's outbox loop."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.notification import alerts, incidents
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


# The latest finished run of every task: a failure opens `job.<task>`, a success closes it.
_LATEST_RUNS = text(
    """
    SELECT DISTINCT ON (task_name) task_name, status
    FROM procrastinate_jobs
    WHERE status IN ('succeeded', 'failed')
    ORDER BY task_name, id DESC
    """
)


async def watch_jobs(session: AsyncSession, *, now: datetime) -> dict[str, str]:
    """Raise or clear one incident per scheduled task from its latest run's outcome."""
    latest = {row.task_name: row.status for row in (await session.execute(_LATEST_RUNS)).all()}
    for task, status in latest.items():
        key = f"job.{task}"
        if status == "failed":
            await incidents.raise_incident(
                session,
                key,
                code=alerts.JOB_FAILED,
                params={"task": task},
                now=now,
            )
        else:
            await incidents.clear_incident(session, key, now=now)
    return latest


@app.periodic(cron="*/5 * * * *", periodic_id="watch_jobs")
@app.task(name="notification.watch_jobs", queueing_lock="watch_jobs")
async def watch_jobs_task(timestamp: int) -> int:
    """Every 5 minutes: admins hear once about a scheduled job that fails (admin_alert)."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        latest = await watch_jobs(session, now=runtime.now())
    return sum(status == "failed" for status in latest.values())
