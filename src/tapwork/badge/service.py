"""Issuing, regenerating, revoking and resolving badges.

Invariant: at most one active (unrevoked) badge per user, decided by the partial unique index
`uq_badges_one_active_per_user`; races surface here as a clean `BadgeConflict` (409).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import service as audit
from tapwork.badge import codec, keys
from tapwork.badge.errors import (
    BadgeConflict,
    BadgeExpired,
    BadgeRevoked,
    BadgeSuperseded,
    InvalidQrCode,
    NoActiveBadge,
)
from tapwork.badge.models import Badge
from tapwork.badge.sheet import Card
from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.kit.actor import Actor
from tapwork.user.errors import UserNotFound
from tapwork.user.models import User

AUDIT_FIELDS = ("user_id", "kid", "issued_at", "expires_at", "revoked_at", "revoke_reason")


def _ring(settings: Settings | None) -> codec.Keyring:
    return keys.keyring(settings if settings is not None else Settings())


def default_expiry(settings: Settings | None, now: datetime) -> datetime | None:
    """`now + BADGE_VALID_DAYS`, or None (never expires) when the setting is 0."""
    days = settings.badge_valid_days if settings is not None else 0
    return now + timedelta(days=days) if days > 0 else None


async def active_badge(session: AsyncSession, user_id: uuid.UUID) -> Badge | None:
    return await session.scalar(
        select(Badge).where(Badge.user_id == user_id, Badge.revoked_at.is_(None))
    )


async def _issue(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    now: datetime,
    settings: Settings | None,
    expires_at: datetime | None,
) -> Badge:
    """Insert a new active badge inside a SAVEPOINT; IntegrityError means another won."""
    kid = await keys.active_kid(session, now=now)
    badge_id = uuid.uuid4()
    badge = Badge(
        id=badge_id,
        user_id=user_id,
        kid=kid,
        code_data=codec.encode(badge_id, kid, _ring(settings)),
        issued_at=now,
        expires_at=expires_at if expires_at is not None else default_expiry(settings, now),
    )
    async with session.begin_nested():
        session.add(badge)
    return badge


async def ensure_active(
    session: AsyncSession, user: User, *, now: datetime, settings: Settings | None = None
) -> Badge:
    """The user's active badge, issuing one if there is none (also under a race)."""
    badge = await active_badge(session, user.id)
    if badge is not None:
        return badge
    try:
        return await _issue(session, user.id, now=now, settings=settings, expires_at=None)
    except IntegrityError:
        # A concurrent request issued it first: theirs is the badge.
        badge = await active_badge(session, user.id)
        if badge is None:  # pragma: no cover - only if it was revoked in between
            raise BadgeConflict("The badge changed concurrently; retry") from None
        return badge


async def regenerate(
    session: AsyncSession,
    user: User,
    *,
    actor: Actor,
    now: datetime,
    settings: Settings | None = None,
    expires_at: datetime | None = None,
) -> Badge:
    """Revoke the current badge (reason 'superseded') and issue a new one.

    Of two concurrent regenerations one wins; the other gets `BadgeConflict`.
    """
    old = await session.scalar(
        update(Badge)
        .where(Badge.user_id == user.id, Badge.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason="superseded")
        .returning(Badge.id)
    )
    try:
        badge = await _issue(session, user.id, now=now, settings=settings, expires_at=expires_at)
    except IntegrityError as exc:
        raise BadgeConflict("The badge was regenerated concurrently; retry") from exc
    await audit.record(
        session,
        actor,
        "badge.regenerate",
        "badge",
        badge.id,
        old={"badge_id": old} if old else None,
        new=audit.snapshot(badge, AUDIT_FIELDS),
    )
    return badge


async def revoke(session: AsyncSession, user: User, *, actor: Actor, now: datetime) -> Badge:
    """Revoke the user's active badge (a lost card). The next view issues a fresh one."""
    badge = await session.scalar(
        update(Badge)
        .where(Badge.user_id == user.id, Badge.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason="revoked")
        .returning(Badge)
        .execution_options(populate_existing=True)
    )
    if badge is None:
        raise NoActiveBadge("This user has no active badge")
    await audit.record(
        session,
        actor,
        "badge.revoke",
        "badge",
        badge.id,
        old={"revoked_at": None},
        new={"revoked_at": now, "revoke_reason": "revoked", "user_id": user.id},
    )
    return badge


def check_scanned(
    code_data: str,
    badge: dict[str, Any],
    *,
    now: datetime,
) -> None:
    """Whether a scanned code, its signature already verified (`codec.verify`), may be used:
    the badge's stored fields (`id`, `code_data`, `revoked_at`, `superseded`: revoked while
    its holder has a newer active badge, `expires_at`; all None when no such badge) against
    the code and the instant. Raises the rejection, in the order a kiosk reports them."""
    if badge["id"] is None or badge["code_data"] != code_data:
        raise InvalidQrCode(reason="unknown_badge")
    if badge["revoked_at"] is not None:
        revoked = badge["revoked_at"].isoformat()
        if badge["superseded"]:
            raise BadgeSuperseded(revoked_at=revoked)
        raise BadgeRevoked(revoked_at=revoked)
    if badge["expires_at"] is not None and badge["expires_at"] <= now:
        raise BadgeExpired(expired_at=badge["expires_at"].isoformat())


async def user_or_404(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


async def cards_for(
    session: AsyncSession,
    *,
    department_id: uuid.UUID | None = None,
    user_ids: Sequence[uuid.UUID] = (),
    employee_ids: Sequence[str] = (),
    now: datetime,
    settings: Settings | None = None,
) -> list[Card]:
    """ID cards for the active users of a department and/or the listed users, sorted by
    name; badges are issued for those who have none yet (so printing is the first issue)."""
    filters = []
    if department_id is not None:
        filters.append(User.department_id == department_id)
    if user_ids:
        filters.append(User.id.in_(list(user_ids)))
    if employee_ids:
        filters.append(User.employee_id.in_(list(employee_ids)))
    if not filters:
        return []
    rows = (
        await session.execute(
            select(User, Department.name)
            .outerjoin(Department, Department.id == User.department_id)
            .where(or_(*filters), User.is_active)
            .order_by(User.last_name, User.first_name, User.employee_id)
        )
    ).all()
    cards = []
    for user, department in rows:
        badge = await ensure_active(session, user, now=now, settings=settings)
        cards.append(Card(user.full_name, user.employee_id, department or "", badge.code_data))
    return cards
