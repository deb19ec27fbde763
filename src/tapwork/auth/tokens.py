"""Single-use, expiring action tokens (verify email, reset password, invitation)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.auth.models import ActionToken
from tapwork.kit.security import hash_token, new_token
from tapwork.user.models import User


class Purpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"
    INVITE = "invite"


async def issue(
    session: AsyncSession, user: User, purpose: Purpose, *, now: datetime, ttl: timedelta
) -> str:
    """A new token for `user`; earlier unused tokens of the same purpose stop working.

    Returns the raw token (to mail); only its hash is stored.
    """
    await session.execute(
        update(ActionToken)
        .where(
            ActionToken.user_id == user.id,
            ActionToken.purpose == purpose.value,
            ActionToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    raw = new_token()
    session.add(
        ActionToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return raw


def issue_to_new_users(
    session: AsyncSession, users: Sequence[User], purpose: Purpose, *, now: datetime, ttl: timedelta
) -> list[str]:
    """`issue` for users created in this transaction: they hold no earlier token to retire, so
    no UPDATE per user (a 5,000-row import would spend most of its time on them). Adds the
    rows without flushing; returns the raw tokens in the users' order."""
    raws = [new_token() for _ in users]
    session.add_all(
        ActionToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + ttl,
        )
        for user, raw in zip(users, raws, strict=True)
    )
    return raws


async def consume(
    session: AsyncSession, raw: str, purpose: Purpose, *, now: datetime
) -> ActionToken | None:
    """Marks the token used and returns it; None if unknown, used, expired or another purpose.

    The row is locked, so two requests racing with one token cannot both succeed.
    """
    token = await session.scalar(
        select(ActionToken)
        .where(ActionToken.token_hash == hash_token(raw), ActionToken.purpose == purpose.value)
        .with_for_update()
    )
    if token is None or token.used_at is not None or token.expires_at <= now:
        return None
    token.used_at = now
    await session.flush()
    return token


async def peek(
    session: AsyncSession, raw: str, purpose: Purpose, *, now: datetime
) -> ActionToken | None:
    """The token if it is still usable, without using it (to say whose invitation it is)."""
    token = await session.scalar(
        select(ActionToken).where(
            ActionToken.token_hash == hash_token(raw), ActionToken.purpose == purpose.value
        )
    )
    if token is None or token.used_at is not None or token.expires_at <= now:
        return None
    return token
