"""The transactional outbox: callers add a row to their own transaction; the worker sends it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.notification.kinds import SECURITY_KINDS, Kind
from tapwork.notification.models import OutboxEmail
from tapwork.user.models import User


def wants(user: User, kind: Kind) -> bool:
    """Whether `user` receives `kind`: security mail always, the rest unless opted out."""
    if kind in SECURITY_KINDS:
        return True
    return bool(user.notification_preferences.get(kind.value, True))


async def enqueue(
    session: AsyncSession,
    kind: Kind,
    *,
    to: User | str,
    context: dict[str, Any],
    respect_preferences: bool = True,
) -> OutboxEmail | None:
    """Queue one email in the caller's transaction. Returns None when the user opted out.

    `context` must be JSON-serialisable; the worker renders the `kind` templates from it.
    Never waits on SMTP.
    """
    if isinstance(to, User):
        if respect_preferences and not wants(to, kind):
            return None
        address, user_id = to.email, to.id
        context = {"first_name": to.first_name, "full_name": to.full_name, **context}
    else:
        address, user_id = to, None
    row = OutboxEmail(
        id=uuid.uuid4(), kind=kind.value, to_address=address, user_id=user_id, context=context
    )
    session.add(row)
    return row
