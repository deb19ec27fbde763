"""Signing key ids. One kid is active (signs new badges); retired kids keep verifying.

The key bytes are derived from BADGE_SECRET and the kid (see codec), so rotation is a row in
`badge_keys`, never a secret in the database.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.badge import codec
from tapwork.badge.models import BadgeKey
from tapwork.config import Settings

_KID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_KID_LENGTH = 4


def keyring(settings: Settings) -> codec.Keyring:
    """The keyring that signs and verifies badges under these settings' BADGE_SECRET."""
    return codec.keyring_for(settings.badge_secret.get_secret_value())


def _new_kid() -> str:
    return "".join(secrets.choice(_KID_ALPHABET) for _ in range(_KID_LENGTH))


async def active_kid(session: AsyncSession, *, now: datetime) -> str:
    """The kid that signs new badges, creating the first one on first use."""
    kid = await session.scalar(select(BadgeKey.kid).where(BadgeKey.is_active))
    if kid is not None:
        return kid
    # Two first issues may race: the partial unique index lets one insert win.
    await session.execute(
        text(
            "INSERT INTO badge_keys (kid, created_at, is_active) VALUES (:kid, :now, true) "
            "ON CONFLICT DO NOTHING"
        ),
        {"kid": _new_kid(), "now": now},
    )
    kid = await session.scalar(select(BadgeKey.kid).where(BadgeKey.is_active))
    assert kid is not None
    return kid


async def rotate(session: AsyncSession, *, now: datetime) -> tuple[str | None, str]:
    """Retire the active kid for signing and activate a new one: (old kid, new kid)."""
    old = await session.scalar(select(BadgeKey).where(BadgeKey.is_active).with_for_update())
    if old is not None:
        await session.execute(
            update(BadgeKey).where(BadgeKey.kid == old.kid).values(is_active=False, retired_at=now)
        )
    existing = set(await session.scalars(select(BadgeKey.kid)))
    kid = _new_kid()
    while kid in existing:
        kid = _new_kid()
    session.add(BadgeKey(kid=kid, created_at=now, is_active=True))
    await session.flush()
    return (old.kid if old else None), kid


async def list_keys(session: AsyncSession) -> list[BadgeKey]:
    return list(await session.scalars(select(BadgeKey).order_by(BadgeKey.created_at)))
