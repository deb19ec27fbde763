"""Report gates: the caller, and the generation limit (SPEC: 10 per hour per user)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from tapwork.auth.deps import CurrentUser, Principal, require
from tapwork.db import unit_of_work
from tapwork.deps import AppSettings, Now
from tapwork.errors import Forbidden, RateLimited
from tapwork.kit import ratelimit
from tapwork.permissions import P

HOUR = timedelta(hours=1)

# Everyone holds attendance:read_own; it lets an employee report on themselves.
ReportReader = require(P.REPORTS_READ_ALL, P.REPORTS_READ_DEPARTMENT, P.ATTENDANCE_READ_OWN)
DepartmentReader = require(P.REPORTS_READ_ALL, P.REPORTS_READ_DEPARTMENT)


async def _scheduler(principal: CurrentUser) -> Principal:
    if not ({P.REPORTS_READ_ALL, P.REPORTS_READ_DEPARTMENT} & principal.permissions):
        raise Forbidden(
            "You do not have permission for this action",
            required=[P.REPORTS_READ_ALL, P.REPORTS_READ_DEPARTMENT],
        )
    return principal


# Scheduling a report: a reports permission (the caller is then needed by the service).
Scheduler = Annotated[Principal, Depends(_scheduler)]


async def count_generation(
    request: Request, principal: CurrentUser, settings: AppSettings, now: Now
) -> Principal:
    """One generation per call, counted per user in its own committed transaction (after the
    permission gate, so refused calls do not use up the caller's hour)."""
    limit = settings.rate_limit_reports_per_hour
    # Its own unit of work: the hit counts even if the report's request rolls back.
    async with unit_of_work(request.app.state.sessionmaker) as session:
        state = await ratelimit.hit_in(
            session,
            f"reports.generate:user:{principal.user.id}",
            limit=limit,
            window=HOUR,
            now=now,
        )
    request.scope.setdefault("state", {})["ratelimit_headers"] = state.headers(now)
    if state.exceeded:
        retry_after = max(1, int((state.reset_at - now).total_seconds()))
        raise RateLimited(
            f"At most {limit} reports per hour; try again in {retry_after} seconds",
            retry_after=retry_after,
            limit=limit,
            window_seconds=int(HOUR.total_seconds()),
        )
    return principal


Generation = Annotated[Principal, Depends(count_generation)]
