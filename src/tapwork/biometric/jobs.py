from __future__ import annotations

from datetime import UTC, datetime

import structlog

from tapwork.biometric import service
from tapwork.kit.actor import SYSTEM
from tapwork.worker import jobs
from tapwork.worker.jobs import app

log = structlog.get_logger("tapwork.biometric")


@app.periodic(cron="17 3 * * *", periodic_id="biometric_retention")
@app.task(name="biometric.purge_expired", queueing_lock="biometric_retention")
async def purge_expired_templates(timestamp: int) -> int:
    """Daily, once across all workers: delete templates unused for the retention limit."""
    runtime = jobs.runtime()
    async with jobs.unit_of_work() as session:
        deleted = await service.purge_expired(
            session,
            now=runtime.now(),
            retention_days=runtime.settings.biometric_retention_days,
            actor=SYSTEM,
        )
    log.info(
        "biometric_templates_expired",
        deleted=deleted,
        period=datetime.fromtimestamp(timestamp, tz=UTC).isoformat(),
    )
    return deleted
