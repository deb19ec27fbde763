"""Worker tasks of the report domain: the weekly summaries and the scheduled reports."""

from __future__ import annotations

import structlog

from tapwork.report import scheduled, weekly
from tapwork.worker import jobs
from tapwork.worker.jobs import app

log = structlog.get_logger("tapwork.report.jobs")


@app.periodic(cron="*/15 * * * *", periodic_id="weekly_summaries")
@app.task(name="report.send_weekly_summaries", queueing_lock="weekly_summaries")
async def weekly_summaries(timestamp: int) -> int:
    """Every 15 minutes, once across all workers: the `weekly_summary` mails that are due
    (report/weekly.py; each (user, week) once, enforced by its primary key)."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        queued = await weekly.send_weekly_summaries(session, now=runtime.now())
    if queued:
        log.info("weekly_summaries_queued", queued=queued)
    return queued


@app.periodic(cron="7 * * * *", periodic_id="scheduled_reports")
@app.task(name="report.send_scheduled_reports", queueing_lock="scheduled_reports")
async def scheduled_reports(timestamp: int) -> int:
    """Every hour, once across all workers: the scheduled reports whose period has ended
    (report/scheduled.py; each (schedule, period) once, enforced by its primary key)."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        queued = await scheduled.send_due(session, now=runtime.now(), settings=runtime.settings)
    if queued:
        log.info("scheduled_reports_queued", queued=queued)
    return queued
