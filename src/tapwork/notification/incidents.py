"""Incidents: a cause admins hear about once (an `admin_alert` to each), open until it clears.

Other domains call `raise_incident` when they see a problem and `clear_incident` when it is
gone, inside their own unit of work, as often as they like: the partial unique index on open
keys makes the first report the incident and every later one a `last_seen_at` bump, so admins
get one mail per incident, not one per event. E.g. the biometric service:

    await incidents.raise_incident(session, "biometric.down", code=alerts.BIOMETRIC_DOWN,
        params={"since": now.isoformat(), "reason": "timeout"}, now=now)
    ...
    await incidents.clear_incident(session, "biometric.down", now=now)

The `key` names the instance (`kiosk.silent.<kiosk id>`), the `code` its kind and `params`
its facts: the text is written from them in each admin's language (notification/alerts.py),
in the mail and in the portal.

Raised here: `mail.undeliverable` (a mail gave up after its last retry; clears when mail is
delivered again) and `job.<task name>` (code `job.failed`: a scheduled job failed; clears when
it next succeeds, notification/jobs.py). Elsewhere: `kiosk.silent.<kiosk id>` (kiosk/jobs.py),
`biometric.down` (biometric/scan.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.notification import alerts, service
from tapwork.notification.kinds import Kind
from tapwork.notification.models import Incident
from tapwork.permissions import P
from tapwork.role.models import Role
from tapwork.user.models import User

SUBJECT_MAX = 300
RECENT_MAX = 200


async def raise_incident(
    session: AsyncSession,
    key: str,
    *,
    code: str,
    params: Mapping[str, Any] | None = None,
    now: datetime,
) -> Incident | None:
    """Open the incident `key` and alert every admin, or note that it is still going on.

    `code` and `params` follow notification/alerts.py (a ValueError for an unknown code or
    params it cannot read). Returns the incident when this report opened it (and mail was
    queued), else None.
    """
    facts = dict(params or {})
    english = alerts.english(code, facts)
    statement: Any = (
        insert(Incident)
        .values(
            key=key,
            code=code,
            params=facts,
            subject=english.subject[:SUBJECT_MAX],
            message=english.message,
            opened_at=now,
            last_seen_at=now,
        )
        .on_conflict_do_update(
            index_elements=[Incident.key],
            index_where=text("closed_at IS NULL"),
            set_={"last_seen_at": now},
        )
        # xmax = 0 only for a row this statement inserted (the update path sets it).
        .returning(Incident.id, literal_column("xmax = 0").label("fresh"))
    )
    result = (await session.execute(statement)).one()
    if not result.fresh:
        return None
    incident = await session.get(Incident, result.id)
    assert incident is not None
    for admin in await _admins(session):
        await service.enqueue(
            session,
            Kind.ADMIN_ALERT,
            to=admin,
            # Written in each admin's language when sent; the English text is the fallback
            # for a worker that does not know the code yet (a rolling upgrade).
            context={
                "code": code,
                "params": facts,
                "subject": english.subject,
                "message": english.message,
            },
        )
    return incident


async def clear_incident(session: AsyncSession, key: str, *, now: datetime) -> bool:
    """Close the open incident `key`, if there is one. Cheap when there is none."""
    result = await session.execute(
        update(Incident)
        .where(Incident.key == key, Incident.closed_at.is_(None))
        .values(closed_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def open_incidents(session: AsyncSession) -> list[Incident]:
    rows = await session.scalars(
        select(Incident).where(Incident.closed_at.is_(None)).order_by(Incident.opened_at.desc())
    )
    return list(rows.all())


async def open_since(session: AsyncSession, prefix: str) -> dict[str, datetime]:
    """Open incidents whose key starts with `prefix`, and when each opened (e.g. every
    `kiosk.silent.<id>`: one query for a fleet instead of one clear per kiosk)."""
    rows = await session.execute(
        select(Incident.key, Incident.opened_at).where(
            Incident.closed_at.is_(None), Incident.key.startswith(prefix, autoescape=True)
        )
    )
    return {row.key: row.opened_at for row in rows.all()}


async def recent(
    session: AsyncSession, *, now: datetime, closed_within: timedelta
) -> list[Incident]:
    """Open incidents, newest first, then those closed within `closed_within`, newest first."""
    rows = await session.scalars(
        select(Incident)
        .where(or_(Incident.closed_at.is_(None), Incident.closed_at >= now - closed_within))
        .order_by(Incident.closed_at.is_not(None), Incident.opened_at.desc())
        .limit(RECENT_MAX)
    )
    return list(rows.all())


async def _admins(session: AsyncSession) -> list[User]:
    rows = await session.scalars(
        select(User)
        .join(Role, Role.id == User.role_id)
        .where(User.is_active, Role.permissions.contains([str(P.SETTINGS_WRITE)]))
        .order_by(User.email)
    )
    return list(rows.unique().all())
