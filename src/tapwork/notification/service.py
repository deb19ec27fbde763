"""The transactional outbox: callers add a row to their own transaction; the worker sends it."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import service as audit_service
from tapwork.audit.service import snapshot
from tapwork.config import Settings
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate
from tapwork.kit.search import contains
from tapwork.notification import kinds
from tapwork.notification import unsubscribe as links
from tapwork.notification.errors import (
    NotificationNotFailed,
    NotificationNotFound,
    UnsubscribeLinkInvalid,
)
from tapwork.notification.kinds import Kind
from tapwork.notification.models import OrganisationSettings, OutboxEmail
from tapwork.user.models import User

RETRY_FIELDS = ("status", "attempts", "next_attempt_at", "last_error")


def wants(user: User, kind: Kind) -> bool:
    """Whether `user` receives `kind`: security mail always, the rest unless opted out."""
    return kinds.wants(user.notification_preferences, kind)


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


async def unsubscribe(
    session: AsyncSession,
    user_id: uuid.UUID,
    kind: str,
    signature: str,
    *,
    settings: Settings,
    apply: bool,
    ip: str | None = None,
) -> tuple[User, Kind]:
    """Check a signed unsubscribe link; with `apply`, turn that kind off for its user.

    Idempotent: a second click finds the kind already off. Audited as the user's own change.
    """
    known = links.verify(user_id, kind, signature, settings)
    user = await session.get(User, user_id, with_for_update=apply) if known else None
    if known is None or user is None:
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid")
    if apply and wants(user, known):
        old = {"notification_preferences": dict(user.notification_preferences or {})}
        user.notification_preferences = {**(user.notification_preferences or {}), kind: False}
        await session.flush()
        await audit_service.record(
            session,
            # The link's holder acts as the user: only the user's mailbox received it.
            Actor(type="user", id=user.id, label=f"{user.email} (unsubscribe link)", ip=ip),
            "notification.unsubscribe",
            "user",
            user.id,
            old=old,
            new={"notification_preferences": dict(user.notification_preferences)},
        )
    return user, known


async def mail_settings(session: AsyncSession, *, for_update: bool = False) -> OrganisationSettings:
    row = await session.get(OrganisationSettings, 1, with_for_update=for_update)
    if row is None:  # migration 0005 inserts it; a restored dump without it gets it back
        row = OrganisationSettings(id=1)
        session.add(row)
        await session.flush()
    return row


async def update_mail_settings(
    session: AsyncSession, mode: str, *, actor: Actor, now: datetime
) -> OrganisationSettings:
    row = await mail_settings(session, for_update=True)
    old = {"attendance_confirmations": row.attendance_confirmations}
    if row.attendance_confirmations != mode:
        row.attendance_confirmations, row.updated_at = mode, now
        await session.flush()
        await audit_service.record(
            session,
            actor,
            "notification.settings",
            "organisation_settings",
            "1",
            old=old,
            new={"attendance_confirmations": mode},
        )
    return row


async def new_user_preferences(session: AsyncSession) -> dict[str, Any]:
    """The notification preferences a user starts with under the organisation's settings."""
    settings = await mail_settings(session)
    if settings.attendance_confirmations == "off_for_new_users":
        return {Kind.ATTENDANCE_CONFIRMATION.value: False}
    return {}


@dataclass(frozen=True, slots=True)
class EmailFilter:
    """Which outbox rows a list or a bulk retry concerns; `since` inclusive, `until` exclusive,
    both on `created_at`."""

    status: str | None = None
    kind: str | None = None
    to: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list[Any]:
        clauses: list[Any] = []
        if self.status is not None:
            clauses.append(OutboxEmail.status == self.status)
        if self.kind is not None:
            clauses.append(OutboxEmail.kind == self.kind)
        if self.to is not None:
            clauses.append(contains(OutboxEmail.to_address, self.to))
        if self.since is not None:
            clauses.append(OutboxEmail.created_at >= self.since)
        if self.until is not None:
            clauses.append(OutboxEmail.created_at < self.until)
        return clauses


async def list_emails(
    session: AsyncSession, params: PageParams, filters: EmailFilter
) -> tuple[list[OutboxEmail], int]:
    """Newest first."""
    query = (
        select(OutboxEmail)
        .where(*filters.where())
        .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
    )
    return await paginate(session, query, params)


async def retry_failed(
    session: AsyncSession, filters: EmailFilter, *, now: datetime, actor: Actor, dry_run: bool
) -> int:
    """Queue every failed mail matching `filters` again with a fresh set of attempts, in one
    statement (a relay down for a day can leave thousands). Returns how many; with `dry_run`
    only counts them. Audited once, as `notification.retry_bulk` with the filter and count."""
    matching = [*EmailFilter(**{**asdict(filters), "status": "failed"}).where()]
    if dry_run:
        count = await session.scalar(select(func.count()).select_from(OutboxEmail).where(*matching))
        return int(count or 0)
    result = await session.execute(
        update(OutboxEmail)
        .where(*matching)
        .values(status="queued", attempts=0, next_attempt_at=now, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        described = {k: v for k, v in asdict(filters).items() if v is not None and k != "status"}
        await audit_service.record(
            session,
            actor,
            "notification.retry_bulk",
            "email_outbox",
            None,
            new={"filter": described, "requeued": count},
        )
    return count


async def retry(
    session: AsyncSession, email_id: uuid.UUID, *, now: datetime, actor: Actor
) -> OutboxEmail:
    """Queue a failed mail again with a fresh set of attempts (the last error is kept)."""
    row = await session.scalar(
        select(OutboxEmail).where(OutboxEmail.id == email_id).with_for_update()
    )
    if row is None:
        raise NotificationNotFound("No such email", id=str(email_id))
    if row.status != "failed":
        raise NotificationNotFailed(
            "Only failed email can be retried", id=str(email_id), status=row.status
        )
    old = snapshot(row, RETRY_FIELDS)
    row.status, row.attempts, row.next_attempt_at, row.locked_until = "queued", 0, now, None
    await session.flush()
    await audit_service.record(
        session,
        actor,
        "notification.retry",
        "email_outbox",
        row.id,
        old=old,
        new=snapshot(row, RETRY_FIELDS),
    )
    return row
