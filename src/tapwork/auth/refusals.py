"""Refused credentials in the audit log, bounded.

A forged or revoked token is worth an audit entry (who is probing us, from where), but a flood
of them must not become a flood of rows: each client gets at most one entry per kind of token,
reason and minute, counted in `rate_limits` like any limit. Expired access tokens are not refusals
worth noting (every portal tab meets one every 15 minutes); failed sign-ins have their own
entries (`auth.login_failed`, auth/service.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import service as audit
from tapwork.kit import ratelimit
from tapwork.kit.actor import Actor

WINDOW = timedelta(minutes=1)


async def note(
    session: AsyncSession,
    *,
    kind: str,
    reason: str,
    ip: str | None,
    request_id: str | None,
    now: datetime,
) -> bool:
    """Audit one refused `kind` token ("access", "kiosk") in `session`, unless this client
    already had one of that kind and reason noted this minute; the caller commits. Returns
    whether it wrote one."""
    state = await ratelimit.hit_in(
        session, f"audit.refused:{kind}:{reason}:{ip or '-'}", limit=1, window=WINDOW, now=now
    )
    if state.exceeded:
        return False
    actor = Actor(
        type="anonymous", id=None, label=ip or "unknown client", ip=ip, request_id=request_id
    )
    await audit.record(
        session, actor, "auth.token_refused", "token", None, new={"kind": kind, "reason": reason}
    )
    return True
