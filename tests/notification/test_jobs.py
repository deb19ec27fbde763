"""The job queue App and the notification housekeeping task."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.notification.jobs import prune_sent_mail
from tapwork.notification.models import OutboxEmail
from tapwork.worker import jobs
from tests.support.clock import FrozenClock


@pytest.fixture
def runtime(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> Iterator[jobs.Runtime]:
    runtime = jobs.Runtime(settings=settings, sessionmaker=sessionmaker, clock=clock)
    jobs.install_runtime(runtime)
    yield runtime
    jobs.install_runtime(None)


def test_app_imports_every_job_module() -> None:
    assert jobs.app.import_paths == jobs.JOB_MODULES
    # A listed module that does not exist would stop the worker at start-up.
    for name in jobs.JOB_MODULES:
        importlib.import_module(name)
    periodic = {task.periodic_id for task in jobs.app.periodic_registry.periodic_tasks.values()}
    assert "prune_sent_mail" in periodic


def test_tasks_refuse_to_run_without_a_runtime() -> None:
    jobs.install_runtime(None)
    with pytest.raises(RuntimeError, match="runtime not installed"):
        jobs.runtime()


async def test_prune_task_deletes_old_sent_mail_in_its_own_transaction(
    runtime: jobs.Runtime, session: AsyncSession, clock: FrozenClock
) -> None:
    runtime.settings.outbox_retention_days = 30
    session.add_all(
        [
            OutboxEmail(
                kind="welcome",
                to_address="old@example.com",
                status="sent",
                sent_at=clock() - timedelta(days=31),
            ),
            OutboxEmail(
                kind="welcome",
                to_address="new@example.com",
                status="sent",
                sent_at=clock() - timedelta(days=29),
            ),
        ]
    )
    await session.commit()

    deleted = await prune_sent_mail(int(clock().timestamp()))

    assert deleted == 1
    left = (await session.scalars(select(OutboxEmail.to_address))).all()
    assert left == ["new@example.com"]
