"""Signed-in sessions: a short-lived JWT access token plus an opaque refresh token.

Refresh tokens are stored as SHA-256 hashes and belong to a family (one sign-in). Each use
rotates the token: the presented one is marked `rotated_at` and a new one joins the family.
Presenting a rotated token again means two parties hold the family (a stolen or replayed
token), so the whole family is revoked and both must sign in again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.auth.errors import InvalidRefreshToken, RefreshTokenReused
from tapwork.auth.models import RefreshToken
from tapwork.config import Settings
from tapwork.kit.actor import Actor
from tapwork.kit.security import encode_access_token, hash_token, new_token
from tapwork.user.models import User


@dataclass(frozen=True, slots=True)
class Client:
    """Who is on the other end of the request, for refresh-token rows and audit entries."""

    ip: str | None = None
    user_agent: str = ""
    request_id: str | None = None

    def anonymous(self) -> Actor:
        """The client before it proved who it is (a failed sign-in, a refused token)."""
        return Actor(type="anonymous", id=None, label=self.ip or "unknown client", ip=self.ip,
                     request_id=self.request_id)  # fmt: skip

    def actor(self, user: User) -> Actor:
        return Actor(
            type="user",
            id=user.id,
            label=user.email,
            ip=self.ip,
            request_id=self.request_id,
            permissions=user.permissions,
        )


@dataclass(frozen=True, slots=True)
class IssuedSession:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    family_id: uuid.UUID


async def start(
    session: AsyncSession,
    user: User,
    *,
    settings: Settings,
    now: datetime,
    client: Client,
    family_id: uuid.UUID | None = None,
) -> IssuedSession:
    """A new token pair; a new family unless `family_id` continues one (rotation)."""
    ttl = timedelta(minutes=settings.access_token_minutes)
    access = encode_access_token(
        secret=settings.jwt_secret.get_secret_value(),
        user_id=user.id,
        role=user.role.name,
        now=now,
        ttl=ttl,
    )
    raw = new_token()
    family = family_id or uuid.uuid4()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
            user_agent=client.user_agent[:300],
            ip=(client.ip or "")[:45],
        )
    )
    await session.flush()
    return IssuedSession(
        user=user,
        access_token=access,
        refresh_token=raw,
        expires_in=int(ttl.total_seconds()),
        family_id=family,
    )


async def _find(session: AsyncSession, raw: str) -> RefreshToken | None:
    # Locked: two requests presenting one token are decided one after the other.
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(raw)).with_for_update()
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, *, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_all(session: AsyncSession, user_id: uuid.UUID, *, now: datetime) -> None:
    """End every session of the user (password set, reset or changed)."""
    await revoke_all_of(session, [user_id], now=now)


async def revoke_all_of(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], *, now: datetime
) -> None:
    """End every session of these users in one statement (deactivation, role changes)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id.in_(user_ids), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def rotate(
    session: AsyncSession, raw: str, *, settings: Settings, now: datetime, client: Client
) -> tuple[IssuedSession, RefreshToken]:
    """Trade a refresh token for a new pair in the same family.

    On reuse the family is revoked (flushed) and `RefreshTokenReused` raised: the caller must
    COMMIT before answering, or the revocation rolls back with the error.
    """
    token = await _find(session, raw)
    if token is None or token.revoked_at is not None:
        raise InvalidRefreshToken("Refresh token is not valid; sign in again", reason="invalid")
    if token.rotated_at is not None:
        await revoke_family(session, token.family_id, now=now)
        await session.flush()
        raise RefreshTokenReused(
            "This refresh token was already used; every session of this sign-in has ended",
            user_id=token.user_id,
            family_id=token.family_id,
        )
    if token.expires_at <= now:
        raise InvalidRefreshToken("Refresh token expired; sign in again", reason="expired")
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken("Account is not active", reason="inactive")
    if user.sessions_valid_after is not None and token.created_at < user.sessions_valid_after:
        raise InvalidRefreshToken("Session ended; sign in again", reason="session_revoked")
    token.rotated_at = now
    issued = await start(
        session, user, settings=settings, now=now, client=client, family_id=token.family_id
    )
    return issued, token


async def end(session: AsyncSession, raw: str, *, now: datetime) -> RefreshToken | None:
    """Logout: revoke the token's whole family. None when the token is unknown."""
    token = await _find(session, raw)
    if token is None:
        return None
    await revoke_family(session, token.family_id, now=now)
    return token
