"""Rate limits for routes: the `rate_limits` table and the route dependencies, on the
PostgreSQL limiter of `kit/ratelimit.py` (plain SQL; kit knows no settings, errors or tables).

    @router.post("/login", dependencies=[auth_limit("auth.login", by_ip(), by_email())])

Put the dependency in the route's `dependencies=[...]`: FastAPI resolves those before the
endpoint's own parameters, so the hit is counted (and committed in its own transaction) before
the request's session runs its first query. A failed attempt rolls its request back, and must
still count; and in tests, where every session shares one connection, counting first keeps the
limiter's SAVEPOINT from nesting inside the request's.

Every limited response carries `X-RateLimit-Limit/Remaining/Reset` (for the tightest key);
over the limit the answer is 429 `RATE_LIMITED` with `Retry-After`.

`general_limit()` is the SPEC's general limit (`rate_limit_general_per_minute`, 100) per user
or kiosk, on every /api/v1 route but the scan (decision 0008).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Any

import jwt
from fastapi import Depends, Request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.config import Settings
from tapwork.db import Base, unit_of_work
from tapwork.deps import AppSettings, Now, client_ip
from tapwork.errors import RateLimited
from tapwork.kit import ratelimit
from tapwork.kit.security import decode_access_token, hash_token
from tapwork.kit.types import Email

MINUTE = timedelta(minutes=1)


class RateLimit(Base):
    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int]
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_rate_limits_expires_at", "expires_at"),)


KeyPart = Callable[[Request], Awaitable[str | None]]
"""Returns the value to count under (None: this request has none, skip the key)."""


def _digest(value: str) -> str:
    # Keys stay short (the column is 200 chars) and hold no addresses or tokens in clear.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def by_ip() -> KeyPart:
    async def part(request: Request) -> str | None:
        ip = client_ip(request)
        return f"ip:{ip}" if ip else None

    return part


def by_body(field: str) -> KeyPart:
    """Count per value of a top-level JSON body field, case-insensitively (e.g. the email)."""

    async def part(request: Request) -> str | None:
        value = await _body_field(request, field)
        return f"{field}:{_digest(value.strip().lower())}" if value is not None else None

    return part


_EMAIL: TypeAdapter[str] = TypeAdapter(Email)


def by_email(field: str = "email") -> KeyPart:
    """Count per account, keyed on the address exactly as login and registration read it
    (`kit.types.Email`: IDNA/Unicode normalisation, lower case), so spellings that reach the
    same account (full-width letters, an upper-case domain) share one budget. Text that is no
    address falls back to NFKC + casefold, which folds those spellings the same way."""

    async def part(request: Request) -> str | None:
        raw = await _body_field(request, field)
        if raw is None:
            return None
        try:
            value = _EMAIL.validate_python(raw)
        except ValidationError:
            value = unicodedata.normalize("NFKC", raw).strip().casefold()
        return f"{field}:{_digest(value)}"

    return part


async def _body_field(request: Request, field: str) -> str | None:
    try:
        # Starlette caches the body, so FastAPI's own parsing reads the same bytes.
        body = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    value = body.get(field) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value.strip():
        return None
    return value


def by_header(name: str) -> KeyPart:
    async def part(request: Request) -> str | None:
        value = request.headers.get(name)
        return f"{name.lower()}:{_digest(value)}" if value else None

    return part


def rate_limit(
    bucket: str,
    *parts: KeyPart,
    limit: Callable[[Settings], int],
    window: timedelta = MINUTE,
) -> Any:
    """A route dependency counting one hit per key part; 429 when any key is over `limit`.

    `limit` reads the settings at request time, so a deployment (or a test) can change it.
    """
    keyed = parts or (by_ip(),)

    async def dependency(request: Request, settings: AppSettings, now: Now) -> None:
        allowed = limit(settings)
        keys = [f"{bucket}:{value}" for part in keyed if (value := await part(request))]
        if not keys:
            return
        states = []
        # Its own transaction: the hit counts even when the request's unit of work rolls back.
        async with unit_of_work(request.app.state.sessionmaker) as session:
            for key in keys:
                states.append(
                    await ratelimit.hit_in(session, key, limit=allowed, window=window, now=now)
                )
        publish(request, min(states, key=lambda s: s.remaining), now)
        exceeded = [s for s in states if s.exceeded]
        if exceeded:
            reset_at = max(s.reset_at for s in exceeded)
            retry_after = max(1, int((reset_at - now).total_seconds()))
            raise RateLimited(
                f"Too many attempts; try again in {retry_after} seconds",
                retry_after=retry_after,
                limit=allowed,
                window_seconds=int(window.total_seconds()),
            )

    dependency.__name__ = f"rate_limit_{bucket.replace('.', '_')}"
    return Depends(dependency)


def auth_limit(bucket: str, *parts: KeyPart) -> Any:
    """The brute-force limit of the auth endpoints (settings.rate_limit_auth_per_minute)."""
    return rate_limit(bucket, *parts, limit=lambda s: s.rate_limit_auth_per_minute)


def publish(request: Request, state: ratelimit.RateLimitState, now: datetime) -> None:
    """Set the answer's `X-RateLimit-*` headers (the middleware sends them) to `state`, unless
    a limit counted earlier in this request has less left: a client sees its tightest budget."""
    scope_state = request.scope.setdefault("state", {})
    headers = state.headers(now)
    earlier = scope_state.get("ratelimit_headers")
    if earlier and int(earlier["X-RateLimit-Remaining"]) < state.remaining:
        return
    scope_state["ratelimit_headers"] = headers


def _principal_key(request: Request, settings: Settings, now: datetime) -> str | None:
    """Whom the general limit counts this request against: the user of a valid access token,
    else the kiosk of a device token. Only a token signed by us names a user, so nobody can
    spend someone else's budget; a device token counts under its digest, as kiosks store it.
    Anonymous requests count under nobody (the auth endpoints have their own per-IP limits)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            claims = decode_access_token(
                token.strip(), secret=settings.jwt_secret.get_secret_value(), now=now
            )
        except jwt.InvalidTokenError:
            pass  # refused by the route's gate, uncounted
        else:
            return f"user:{claims.sub}"
    device = request.headers.get("x-kiosk-token")
    if device:
        return f"kiosk:{hash_token(device)[:32]}"
    return None


GENERAL_FLUSH_EVERY = timedelta(seconds=1)


def _general_counts(request: Request) -> ratelimit.LocalCounts:
    state = request.app.state
    counts: ratelimit.LocalCounts | None = getattr(state, "general_counts", None)
    if counts is None:
        counts = state.general_counts = ratelimit.LocalCounts(MINUTE, GENERAL_FLUSH_EVERY)
    return counts


def general_limit(*, exempt: Collection[Callable[..., Any]] = ()) -> Any:
    """The SPEC's general limit: `rate_limit_general_per_minute` requests a minute per user or
    kiosk (0 turns it off), on every /api/v1 route but those in `exempt` (the scan: limited
    per kiosk and per badge by its group commit). Counted in each process and added to the
    shared `rate_limits` rows about once a second, so it holds across replicas without a
    transaction per request; a replica sees the others' hits up to a second late (decision
    0008)."""

    async def dependency(request: Request, settings: AppSettings, now: Now) -> None:
        allowed = settings.rate_limit_general_per_minute
        route = request.scope.get("route")
        if allowed <= 0 or getattr(route, "endpoint", None) in exempt:
            return
        key = _principal_key(request, settings, now)
        if key is None:
            return
        counts = _general_counts(request)
        state = counts.count(f"general:{key}", allowed, now)
        if counts.due(now):
            async with unit_of_work(request.app.state.sessionmaker) as session:
                await counts.flush(session, now)
            state = counts.state(f"general:{key}", allowed)
        publish(request, state, now)
        if state.exceeded:
            retry_after = max(1, int((state.reset_at - now).total_seconds()))
            raise RateLimited(
                f"Too many requests; at most {allowed} a minute, try again in "
                f"{retry_after} seconds",
                retry_after=retry_after,
                limit=allowed,
                window_seconds=int(MINUTE.total_seconds()),
            )

    return Depends(dependency)
