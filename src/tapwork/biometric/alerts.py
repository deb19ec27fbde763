"""Admins hear about a face-service outage once per incident, not once per scan.

One row (`biometric_service_state`) across every API process: the first failure of an
incident claims `alerted_at` with a conditional UPDATE and queues the mail; later failures find
it claimed. The first success after an outage clears the row, so the next outage alerts again.

The mail helper's generic "once per incident" alerting replaces `_notify_admins` when it lands
(one call site, on purpose).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.biometric.models import BiometricServiceState
from tapwork.notification import service as notification_service
from tapwork.notification.kinds import Kind
from tapwork.permissions import P
from tapwork.role.models import Role
from tapwork.user.models import User


async def service_down(session: AsyncSession, *, now: datetime, reason: str) -> bool:
    """Note a failure; True when this call opened the incident (and queued the alert)."""
    await session.execute(
        insert(BiometricServiceState).values(id=1, down_since=now).on_conflict_do_nothing()
    )
    claimed = await session.scalar(
        update(BiometricServiceState)
        .where(BiometricServiceState.id == 1, BiometricServiceState.alerted_at.is_(None))
        .values(alerted_at=now, down_since=now)
        .returning(BiometricServiceState.id)
    )
    if claimed is None:
        return False
    await _notify_admins(session, now=now, reason=reason)
    return True


async def service_up(session: AsyncSession) -> None:
    await session.execute(
        update(BiometricServiceState)
        .where(BiometricServiceState.id == 1, BiometricServiceState.alerted_at.is_not(None))
        .values(alerted_at=None, down_since=None)
    )


async def _notify_admins(session: AsyncSession, *, now: datetime, reason: str) -> None:
    admins = (
        await session.scalars(
            select(User)
            .join(Role, User.role_id == Role.id)
            .where(User.is_active, Role.permissions.contains([P.SETTINGS_WRITE.value]))
        )
    ).all()
    for admin in admins:
        await notification_service.enqueue(
            session,
            Kind.ADMIN_ALERT,
            to=admin,
            context={
                "subject": "Biometric service unreachable",
                "message": (
                    f"Since {now:%Y-%m-%d %H:%M} UTC the face verification service has not "
                    f"answered ({reason}). Scans continue on badges alone and are flagged for "
                    "review. You will not be alerted again until it has recovered."
                ),
            },
        )
