"""Fixed-window rate limits stored in PostgreSQL, so they hold across API replicas.

Each hit is one upsert, in a short transaction of the caller's (`tapwork.limits.rate_limit`
opens its own with `tapwork.db.unit_of_work`): a limit must count attempts even when the
request that made them fails and rolls back (a wrong password is exactly such a request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_HIT = text(
    """
    INSERT INTO rate_limits (key, window_start, hits, expires_at)
    VALUES (:key, :window_start, 1, :expires_at)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
    RETURNING hits
    """
)


@dataclass(frozen=True, slots=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: datetime
    exceeded: bool

    def headers(self, now: datetime) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(max(0, int((self.reset_at - now).total_seconds()))),
        }


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


async def hit_in(
    session: AsyncSession, key: str, *, limit: int, window: timedelta, now: datetime
) -> RateLimitState:
    """Count one hit inside `session`'s transaction (for callers that commit anyway)."""
    start = window_start(now, window)
    reset = start + window
    hits = int(
        (
            await session.execute(_HIT, {"key": key, "window_start": start, "expires_at": reset})
        ).scalar_one()
    )
    return RateLimitState(
        limit=limit, remaining=max(0, limit - hits), reset_at=reset, exceeded=hits > limit
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        text("DELETE FROM rate_limits WHERE expires_at < :now"), {"now": now}
    )
    return int(getattr(result, "rowcount", 0) or 0)
