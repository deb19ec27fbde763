"""The missing clock-out sweep: flags and mails once, never invents a check-out, and runs once
per period however many workers defer it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from procrastinate.periodic import PeriodicDeferrer
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.jobs import flag_missing_clockouts, missing_clockouts
from tapwork.attendance.models import AttendanceRecord
from tapwork.config import Settings
from tapwork.notification.models import OutboxEmail
from tapwork.worker import jobs
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org


def _open(org: Org, check_in_at: datetime) -> AttendanceRecord:
    return AttendanceRecord(
        user_id=org.employee.id, shift_id=org.shift.id, location_id=org.location.id,
        work_date=check_in_at.date(), check_in_at=check_in_at, status="on_time",
    )  # fmt: skip


async def _mails(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OutboxEmail)
            .where(OutboxEmail.kind == "missing_clockout")
        )
        or 0
    )


async def test_flags_after_shift_end_plus_grace_once(
    session: AsyncSession, org: Org, settings: Settings
) -> None:
    check_in = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 Madrid, shift ends 17:00 (16:00Z)
    record = _open(org, check_in)
    session.add(record)
    await session.flush()
    deadline = datetime(2026, 3, 2, 16, 0, tzinfo=UTC) + timedelta(
        hours=settings.missing_clockout_hours
    )
    assert (
        await flag_missing_clockouts(
            session, now=deadline - timedelta(minutes=1), settings=settings
        )
        == 0
    )
    assert (
        await flag_missing_clockouts(
            session, now=deadline + timedelta(minutes=1), settings=settings
        )
        == 1
    )
    assert (
        await flag_missing_clockouts(session, now=deadline + timedelta(hours=5), settings=settings)
        == 0
    )
    await session.refresh(record)
    assert record.missing_checkout_flagged_at == deadline + timedelta(minutes=1)
    assert record.check_out_at is None  # never invented
    assert await _mails(session) == 1
    mail = await session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "missing_clockout"))
    assert mail is not None
    assert mail.context["check_in_local"] == "2026-03-02 09:00"
    assert mail.context["location"] == "Madrid HQ"


async def test_flagged_records_show_in_the_review_queue(
    client: httpx.AsyncClient, session: AsyncSession, org: Org, settings: Settings
) -> None:
    record = _open(org, datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    session.add(record)
    await session.flush()
    await flag_missing_clockouts(session, now=datetime(2026, 3, 3, tzinfo=UTC), settings=settings)
    queue = (await client.get("/api/v1/attendance/review", headers=org.headers(org.hr))).json()
    assert [r["id"] for r in queue["missing_checkouts"]] == [str(record.id)]


async def test_periodic_job_runs_once_per_period_across_workers(
    committed_db: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with committed_db() as session:
        location = await f.make_location(session, timezone="Europe/Madrid")
        shift = await f.make_shift(session)
        user = await f.make_user(session, shift=shift, location=location)
        session.add(AttendanceRecord(
            user_id=user.id, shift_id=shift.id, location_id=location.id,
            work_date=datetime(2026, 3, 2).date(), check_in_at=datetime(2026, 3, 2, 8, tzinfo=UTC),
            status="on_time",
        ))  # fmt: skip
        await session.commit()
    clock = FrozenClock(datetime(2026, 3, 3, 12, tzinfo=UTC))
    jobs.install_runtime(jobs.Runtime(settings=settings, sessionmaker=committed_db, clock=clock))
    try:
        async with jobs.open_app(settings) as app:
            periodic = next(
                (pt, ts) for pt in app.periodic_registry.periodic_tasks.values()
                if pt.task is missing_clockouts
                for ts in [1_900_000_800]
            )  # fmt: skip
            # Two workers' deferrers reach the same tick: the database keeps one job.
            for _ in range(2):
                await PeriodicDeferrer(app.periodic_registry).defer_jobs([periodic])
            async with committed_db() as session:
                count = await session.scalar(
                    text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t"),
                    {"t": "attendance.flag_missing_clockouts"},
                )
                assert count == 1
            await app.run_worker_async(wait=False, install_signal_handlers=False,
                                       queues=["default"])  # fmt: skip
        async with committed_db() as session:
            flagged = await session.scalar(
                select(func.count())
                .select_from(AttendanceRecord)
                .where(AttendanceRecord.missing_checkout_flagged_at.is_not(None))
            )
            assert flagged == 1
            assert await _mails(session) == 1
    finally:
        jobs.install_runtime(None)
