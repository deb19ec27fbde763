"""Fixed-window rate limits stored in PostgreSQL, so they hold across API replicas.

Each hit is one upsert, in a short transaction of the caller's (`tapwork.limits.rate_limit`
opens its own with `tapwork.db.unit_of_work`): a limit must count attempts even when the
request that made them fails and rolls back (a wrong password is exactly such a request).
`LocalCounts` batches a process's hits into one upsert a second instead, for the general limit,
which every API request meets (decision 0008).
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


_HIT_MANY = text(
    """
    INSERT INTO rate_limits (key, window_start, hits, expires_at)
    SELECT k, :window_start, n, :expires_at
    FROM unnest(CAST(:keys AS text[]), CAST(:counts AS int[])) AS t(k, n)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + EXCLUDED.hits
    RETURNING key, hits
    """
)


class LocalCounts:
    """Fixed-window counts kept in this process and added to the shared `rate_limits` rows in
    one statement per flush (at most every `flush_every`), for limits on routes that must not
    pay a transaction per request. A key's count is the shared total at the last flush plus what
    this process counted since, so replicas together can pass a limit by what the others
    counted in one flush interval (decision 0008). Single event loop: no locks needed."""

    def __init__(self, window: timedelta, flush_every: timedelta) -> None:
        self.window, self.flush_every = window, flush_every
        self._start: datetime | None = None  # the window the counts below belong to
        self._shared: dict[str, int] = {}  # totals read back at the last flush
        self._pending: dict[str, int] = {}  # counted here, not yet flushed
        self._inflight: dict[str, int] = {}  # being flushed now
        self._flushed_at: datetime | None = None

    def count(self, key: str, limit: int, now: datetime) -> RateLimitState:
        """Count one hit (refused hits too) and tell where the key stands."""
        start = window_start(now, self.window)
        if start != self._start:  # a new window: earlier counts no longer matter
            self._start, self._shared, self._pending = start, {}, {}
            self._inflight = {}
        self._pending[key] = self._pending.get(key, 0) + 1
        return self.state(key, limit)

    def state(self, key: str, limit: int) -> RateLimitState:
        """Where `key` stands in the current window, as far as this process knows: exact for
        its own hits, up to one flush interval behind for the other processes'."""
        assert self._start is not None, "count() first"
        hits = sum(part.get(key, 0) for part in (self._shared, self._inflight, self._pending))
        return RateLimitState(
            limit=limit,
            remaining=max(0, limit - hits),
            reset_at=self._start + self.window,
            exceeded=hits > limit,
        )

    def due(self, now: datetime) -> bool:
        if not self._pending or self._inflight:
            return False
        return self._flushed_at is None or now - self._flushed_at >= self.flush_every

    async def flush(self, session: AsyncSession, now: datetime) -> None:
        """Add this process's counts to the shared rows and read the totals back."""
        if not self._pending or self._start is None or self._inflight:
            return
        start, batch = self._start, self._pending
        self._inflight, self._pending = batch, {}
        keys = sorted(batch)  # one order for every process: concurrent flushes cannot deadlock
        try:
            rows = await session.execute(
                _HIT_MANY,
                {
                    "keys": keys,
                    "counts": [batch[k] for k in keys],
                    "window_start": start,
                    "expires_at": start + self.window,
                },
            )
            totals = {str(key): int(hits) for key, hits in rows.all()}
        except BaseException:
            if self._start == start:  # not counted: keep the hits for the next flush
                for key, n in batch.items():
                    self._pending[key] = self._pending.get(key, 0) + n
            raise
        finally:
            if self._start == start:
                self._inflight = {}
        self._flushed_at = now
        if self._start == start:
            self._shared.update(totals)
