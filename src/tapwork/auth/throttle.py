"""Failed sign-ins, slowed per client and per account (decision 0007).

Only *failures* count, in three rows of `login_failures` (keys are digests, never addresses):

    pair     one account from one client   after 5 failures that client waits to try it again
    client   one client, any account       after 30 failures (password spraying) it waits
    account  one account, any client       after 10 failures (a guess spread over many clients)
                                           every client that has failed recently waits

Each wait doubles with every further failure (30 s, 60 s, … up to 15 min) and the counters
forget after a quiet window (15 min). A client that has not failed is never refused: the owner
signs in with the right password however many wrong guesses others made, so guessing cannot be
used to lock anybody out. A success clears the pair's counter.

The check runs before the password is verified (a waiting client learns nothing); failures are
written in the request's transaction, which the login route commits before it answers 401.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.config import Settings
from tapwork.db import Base
from tapwork.errors import RateLimited


class LoginFailure(Base):
    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int]
    last_failed_at: Mapped[datetime]
    locked_until: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_login_failures_expires_at", "expires_at"),)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Keys:
    account: str
    pair: str
    client: str | None

    @classmethod
    def of(cls, email: str, ip: str | None) -> Keys:
        """`email` as login reads it (`kit.types.Email`, normalised): every spelling of one
        address is one account here too."""
        return cls(
            account=f"account:{_digest(email)}",
            pair="pair:" + _digest(f"{email}|{ip or '-'}"),
            client=f"client:{_digest(ip)}" if ip else None,
        )

    def all(self) -> list[str]:
        return [k for k in (self.account, self.pair, self.client) if k is not None]


@dataclass(frozen=True, slots=True)
class Policy:
    free_per_pair: int
    free_per_client: int
    free_per_account: int
    base: timedelta
    cap: timedelta
    window: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            free_per_pair=settings.login_free_failures_per_pair,
            free_per_client=settings.login_free_failures_per_client,
            free_per_account=settings.login_free_failures_per_account,
            base=timedelta(seconds=settings.login_backoff_base_seconds),
            cap=timedelta(seconds=settings.login_backoff_max_seconds),
            window=timedelta(minutes=settings.login_failure_window_minutes),
        )

    def free(self, key: str) -> int:
        kind = key.partition(":")[0]
        return {
            "pair": self.free_per_pair,
            "client": self.free_per_client,
            "account": self.free_per_account,
        }[kind]

    def wait(self, key: str, failures: int) -> timedelta:
        """How long after its latest failure a key refuses: nothing before its allowance is
        used up, then the base, doubling per further failure, capped."""
        over = failures - self.free(key)
        if over < 0:
            return timedelta(0)
        wait: timedelta = self.base * 2 ** min(over, 30)
        return min(self.cap, wait)


async def check(session: AsyncSession, keys: Keys, *, policy: Policy, now: datetime) -> None:
    """429 `RATE_LIMITED` when this client must wait before trying this account again."""
    rows = {
        row.key: row
        for row in await session.scalars(
            select(LoginFailure).where(
                LoginFailure.key.in_(keys.all()), LoginFailure.expires_at > now
            )
        )
    }
    waits = [
        rows[key].locked_until
        for key in (keys.pair, keys.client)
        if key is not None and key in rows and rows[key].locked_until > now
    ]
    account = rows.get(keys.account)
    client_has_failed = keys.pair in rows or (keys.client is not None and keys.client in rows)
    if account is not None and account.locked_until > now and client_has_failed:
        waits.append(account.locked_until)
    if waits:
        retry_after = max(1, int((max(waits) - now).total_seconds() + 0.999))
        raise RateLimited(
            f"Too many failed sign-ins; try again in {retry_after} seconds",
            retry_after=retry_after,
            limit=policy.free_per_pair,
            window_seconds=int(policy.window.total_seconds()),
        )


_FAIL = text(
    """
    INSERT INTO login_failures AS f (key, failures, last_failed_at, locked_until, expires_at)
    VALUES (:key, 1, :now, :now, :expires)
    ON CONFLICT (key) DO UPDATE SET
      failures = CASE WHEN f.expires_at <= :now THEN 1 ELSE f.failures + 1 END,
      last_failed_at = :now,
      locked_until = CASE WHEN f.expires_at <= :now THEN :now ELSE f.locked_until END,
      expires_at = :expires
    RETURNING failures
    """
)
_LOCK = text(
    "UPDATE login_failures SET locked_until = :until, expires_at = greatest(expires_at, :until)"
    " WHERE key = :key"
)


async def record_failure(
    session: AsyncSession, keys: Keys, *, policy: Policy, now: datetime
) -> timedelta:
    """Count one failure on every key; returns the longest wait it started (0: none)."""
    longest = timedelta(0)
    for key in keys.all():
        params = {"key": key, "now": now, "expires": now + policy.window}
        failures = int((await session.execute(_FAIL, params)).scalar_one())
        wait = policy.wait(key, failures)
        if wait:
            await session.execute(_LOCK, {"key": key, "until": now + wait})
            longest = max(longest, wait)
    return longest


async def record_success(session: AsyncSession, keys: Keys) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.key == keys.pair))


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(LoginFailure).where(LoginFailure.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
