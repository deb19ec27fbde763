"""Worker tasks of the report domain: the weekly summaries, the scheduled reports and the
exports (report/exports.py)."""

from __future__ import annotations

import uuid

import structlog

from tapwork.report import exports, scheduled, weekly
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


# No retry: a second run of a failed export would find it failed and skip; the owner asks again.
# A queue of its own (the worker runs every queue): export jobs are told apart at a glance.
@app.task(name=exports.TASK, queue=exports.QUEUE)
async def export_report(export_id: str) -> str:
    """Compute one queued export with its owner's permissions as they are now."""
    runtime = jobs.runtime()
    return await exports.run(
        runtime.sessionmaker, uuid.UUID(export_id), now=runtime.now(), settings=runtime.settings
    )


@app.periodic(cron="23 * * * *", periodic_id="report_exports_housekeeping")
@app.task(name="report.export_housekeeping", queueing_lock="report_exports_housekeeping")
async def export_housekeeping(timestamp: int) -> dict[str, int]:
    """Every hour, once across all workers: delete expired exports' files, forget old exports,
    fail the exports whose worker died."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        counts = await exports.housekeeping(session, now=runtime.now(), settings=runtime.settings)
    if any(counts.values()):
        log.info("report_exports_housekeeping", **counts)
    return counts
