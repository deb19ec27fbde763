"""The `weekly_summary` mail: each employee's own local week, from the attendance report's SQL,
once per (employee, week) however many workers run, in their language, respecting opt-outs."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord
from tapwork.config import Settings
from tapwork.notification import delivery
from tapwork.notification.models import OutboxEmail
from tapwork.notification.render import build_environment, render
from tapwork.report import weekly
from tapwork.report.jobs import weekly_summaries
from tapwork.report.models import WeeklySummary
from tapwork.user.models import User
from tapwork.worker import jobs
from tests.notification.test_languages import Blank, _leftover
from tests.report.conftest import Acme
from tests.report.expected import ATTENDANCE
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org
from tests.support.smtp import SmtpServer, body_html, body_text

# Monday 30 March 2026, 12:30 in Madrid (CEST), 06:30 in New York (EDT).
MADRID_NOON = datetime(2026, 3, 30, 10, 30, tzinfo=UTC)
NEW_YORK_NOON = datetime(2026, 3, 30, 16, 30, tzinfo=UTC)


async def _summaries(session: AsyncSession) -> dict[str, dict[str, object]]:
    rows = await session.execute(
        select(User.employee_id, OutboxEmail.context)
        .join(User, User.id == OutboxEmail.user_id)
        .where(OutboxEmail.kind == "weekly_summary")
    )
    return dict(rows.all())


async def test_each_employee_gets_their_local_week_once_with_the_reports_figures(
    acme: Acme, org: Org, session: AsyncSession
) -> None:
    # Madrid's Monday noon has come; New York's has not. (Eve, on Madrid's day shift with no
    # record, gets her week of five absences.)
    first = await weekly.send_weekly_summaries(session, now=MADRID_NOON)
    assert await weekly.send_weekly_summaries(session, now=MADRID_NOON) == 0
    mails = await _summaries(session)
    assert first == len(mails)
    assert {"N001", "P001", org.employee.employee_id} <= set(mails)
    assert "O001" not in mails
    eve = mails[org.employee.employee_id]
    assert (eve["scheduled_days"], eve["days_present"], eve["absences"]) == (5, 0, 5)
    assert await weekly.send_weekly_summaries(session, now=NEW_YORK_NOON) == 1
    mails = await _summaries(session)
    assert "O001" in mails
    for employee_id in ("N001", "P001", "O001"):
        context = mails[employee_id]
        expected = ATTENDANCE[employee_id]
        assert context["week_start"] == "2026-03-23"
        assert context["week_end"] == "2026-03-29"
        assert {k: context[k] for k in weekly.FIGURES} == {k: expected[k] for k in weekly.FIGURES}
    # Later runs that week send nothing more, whoever runs them.
    assert await weekly.send_weekly_summaries(session, now=datetime(2026, 4, 2, tzinfo=UTC)) == 0
    # The personas' accounts are newer than that week: nothing to say, no mail, but handled.
    handled = await session.scalar(select(func.count()).select_from(WeeklySummary))
    assert handled == await session.scalar(
        select(func.count()).select_from(User).where(User.is_active)
    )


async def test_an_employee_who_opted_out_gets_none(acme: Acme, session: AsyncSession) -> None:
    acme.olive.notification_preferences = {"weekly_summary": False}
    await session.flush()
    await weekly.send_weekly_summaries(session, now=NEW_YORK_NOON)
    mails = await _summaries(session)
    assert {"N001", "P001"} <= set(mails)
    assert "O001" not in mails
    marked = await session.get(WeeklySummary, (acme.olive.id, date(2026, 3, 23)))
    assert marked is not None
    assert marked.mailed is False


async def test_the_mail_reads_in_the_employees_language(
    acme: Acme, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings, smtp: SmtpServer, clock: FrozenClock,
) -> None:  # fmt: skip
    acme.nora.language = "es"
    await session.flush()
    await weekly.send_weekly_summaries(session, now=MADRID_NOON)
    await session.commit()
    clock.set(MADRID_NOON)
    await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=random.Random(1))
    [nora] = smtp.inbox.wait_for(acme.nora.email)  # in Spanish, her language
    assert nora["Subject"] == "Tu semana del 23 mar 2026 al 29 mar 2026"
    text = body_text(nora)
    assert "Días presente: 4 de 5 previstos" in text
    assert "Llegadas tarde: 1 (20 min)" in text
    assert "Ausencias: 1" in text
    assert "Horas trabajadas: 28 h 47 min" in text
    assert "Horas extra: 7 min" in text
    assert "Horas trabajadas" in body_html(nora)
    # (Paco also had a correction notice.)
    smtp.inbox.wait_for(acme.paco.email, 2)
    [paco] = [m for m in smtp.inbox.to(acme.paco.email) if "week" in str(m["Subject"])]
    assert paco["Subject"] == "Your week of 23 Mar 2026 to 29 Mar 2026"
    assert "Days present: 6 of 4 scheduled" in body_text(paco)
    assert "Overtime: 6 h 20 min" in body_text(paco)


def test_no_text_of_the_structured_mails_is_left_untranslated(settings: Settings) -> None:
    contexts: dict[str, dict[str, Any]] = {
        "weekly_summary": {
            "week_start": "2026-03-23", "week_end": "2026-03-29", "scheduled_days": 5,
            "days_present": 4, "late_count": 1, "minutes_late": 20, "absences": 1,
            "worked_minutes": 1727, "overtime_minutes": 7,
        },
        "scheduled_report": {
            "report": "timesheet", "from_date": "2026-03-01", "to_date": "2026-03-31",
            "filename": "timesheet_2026-03-01_2026-03-31.xlsx",
        },
    }  # fmt: skip
    env = build_environment("es", Blank())
    for kind, context in contexts.items():
        rendered = render(kind, context, settings=settings, environment=env)
        for part in (rendered.text, rendered.html):
            assert _leftover(part, context) == "", f"untranslated text in {kind}"


async def test_two_workers_at_once_send_one_summary_per_employee(
    committed_db: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with committed_db() as session:
        location = await f.make_location(session, timezone="Europe/Madrid")
        shift = await f.make_shift(session, start=time(9), end=time(17))
        people = [await f.make_user(session, shift=shift, location=location) for _ in range(3)]
        await session.execute(update(User).values(created_at=datetime(2026, 1, 5, tzinfo=UTC)))
        for user in people:
            session.add(AttendanceRecord(
                user_id=user.id, shift_id=shift.id, location_id=location.id,
                work_date=date(2026, 3, 24), check_in_at=datetime(2026, 3, 24, 8, tzinfo=UTC),
                check_out_at=datetime(2026, 3, 24, 16, tzinfo=UTC), status="on_time",
                worked_minutes=480,
            ))  # fmt: skip
        await session.commit()
    clock = FrozenClock(MADRID_NOON)
    jobs.install_runtime(jobs.Runtime(settings=settings, sessionmaker=committed_db, clock=clock))
    try:
        # The real task function, run by two "workers" at the same moment.
        first, second = await asyncio.gather(weekly_summaries(0), weekly_summaries(0))
        assert first + second == 3
        assert await weekly_summaries(0) == 0
    finally:
        jobs.install_runtime(None)
    async with committed_db() as session:
        mails = await session.scalars(
            select(OutboxEmail.user_id).where(OutboxEmail.kind == "weekly_summary")
        )
        assert sorted(map(str, mails)) == sorted(str(u.id) for u in people)
