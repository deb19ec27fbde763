"""The `weekly_summary` mail: each employee's own last week, from the attendance report's SQL.

The week is the employee's local week (Monday to Sunday in their location's zone); it is due
from Monday 12:00 local time (a night shift that started on Sunday has ended by then). The
worker first inserts a (user, week) marker in `weekly_summaries`, whose primary key makes
"once" the database's rule: a concurrent or repeated run inserts nothing and sends nothing.
The figures are one run of `queries.ATTENDANCE` per distinct week, for everyone, of which the
claimed employees' rows are mailed. An employee who opted out (`wants`), or whose week had no
scheduled day and no presence (a new account, no shift), is marked without a mail.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from sqlalchemy import select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.notification import service as notification
from tapwork.notification.kinds import Kind
from tapwork.report import queries, service
from tapwork.report.models import WeeklySummary
from tapwork.report.service import Filters, Scope, Viewer
from tapwork.user.models import User

DUE_HOUR = 12  # Monday, local time
BATCH = 5000

# Claim the due (user, week) pairs in one statement: the primary key decides who sends.
_CLAIM = text(
    """
    INSERT INTO weekly_summaries (user_id, week_start, created_at)
    SELECT u.id, w.week_start, :now
    FROM users u
    LEFT JOIN locations l ON l.id = u.location_id
    CROSS JOIN LATERAL (
      SELECT (CAST(:now AS timestamptz) AT TIME ZONE coalesce(l.timezone, 'UTC')) AS local_now
    ) n
    CROSS JOIN LATERAL (
      SELECT CAST(date_trunc('week', n.local_now) AS date) - 7 AS week_start
    ) w
    WHERE u.is_active
      AND n.local_now >= date_trunc('week', n.local_now) + make_interval(hours => :due_hour)
      AND NOT EXISTS (SELECT 1 FROM weekly_summaries s
                      WHERE s.user_id = u.id AND s.week_start = w.week_start)
    ORDER BY u.id
    LIMIT :batch
    ON CONFLICT DO NOTHING
    RETURNING user_id, week_start
    """
)

# The columns the mail shows, from the attendance report's row.
FIGURES = (
    "scheduled_days",
    "days_present",
    "late_count",
    "minutes_late",
    "absences",
    "worked_minutes",
    "overtime_minutes",
)


def has_something(row: dict[str, Any]) -> bool:
    return bool(row["scheduled_days"] or row["days_present"])


async def week_figures(
    session: AsyncSession, week_start: date, users: set[uuid.UUID], *, now: datetime
) -> dict[uuid.UUID, dict[str, Any]]:
    """The attendance report's row for each of `users` over the local week."""
    filters = Filters(week_start, week_start + timedelta(days=6))
    scope = Scope(filters, Viewer(uuid.UUID(int=0), frozenset()), everyone=True)
    conn = await service.driver_connection(session)
    await service.tune(conn)
    params = {**scope.params(now), "wanted": list(users)}
    sql = f"SELECT * FROM ({queries.ATTENDANCE}) a WHERE a.user_id = ANY(%(wanted)s::uuid[])"  # noqa: S608
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params, prepare=False)
        return {row["user_id"]: row for row in await cur.fetchall()}


async def send_weekly_summaries(session: AsyncSession, *, now: datetime, batch: int = BATCH) -> int:
    """Claim and queue the summaries due at `now`; returns how many mails were queued.
    Flushes, never commits."""
    claimed = (
        await session.execute(_CLAIM, {"now": now, "due_hour": DUE_HOUR, "batch": batch})
    ).all()
    weeks: dict[date, set[uuid.UUID]] = defaultdict(set)
    for user_id, week_start in claimed:
        weeks[week_start].add(user_id)
    mailed: list[tuple[uuid.UUID, date]] = []
    for week_start, users in weeks.items():
        figures = await week_figures(session, week_start, users, now=now)
        people = (await session.scalars(select(User).where(User.id.in_(list(figures))))).all()
        for user in people:
            row = figures[user.id]
            if not has_something(row):
                continue
            context: dict[str, Any] = {
                "week_start": week_start.isoformat(),
                "week_end": (week_start + timedelta(days=6)).isoformat(),
                **{name: int(row[name]) for name in FIGURES},
            }
            if await notification.enqueue(session, Kind.WEEKLY_SUMMARY, to=user, context=context):
                mailed.append((user.id, week_start))
    if mailed:
        await session.execute(
            update(WeeklySummary)
            .where(tuple_(WeeklySummary.user_id, WeeklySummary.week_start).in_(mailed))
            .values(mailed=True)
        )
    await session.flush()
    return len(mailed)
