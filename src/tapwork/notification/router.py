from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from tapwork.auth.deps import Principal, require
from tapwork.db import DbSession
from tapwork.deps import Now
from tapwork.kit.pagination import Page, Pagination
from tapwork.kit.types import Search
from tapwork.notification import service
from tapwork.notification.kinds import Kind
from tapwork.notification.schemas import DeliveryStatus, NotificationRead
from tapwork.permissions import P

router = APIRouter(prefix="/notifications", tags=["notifications"])

Reader = Annotated[Principal, require(P.NOTIFICATIONS_READ)]
Admin = Annotated[Principal, require(P.SETTINGS_WRITE)]


@router.get("", response_model=Page[NotificationRead])
async def list_notifications(
    _: Reader,
    session: DbSession,
    page: Pagination,
    status: Annotated[DeliveryStatus | None, Query(description="delivery status")] = None,
    kind: Annotated[Kind | None, Query(description="email kind")] = None,
    to: Annotated[Search | None, Query(description="part of the recipient address")] = None,
) -> Page[NotificationRead]:
    """Email delivery status, newest first.

    `queued` mail waits for a worker (after a failure, until `next_attempt_at`); `sending` is
    leased to a worker; `sent` was accepted by the SMTP server; `failed` gave up after the
    configured number of attempts (or a permanent refusal) and can be retried by an admin.
    """
    rows, total = await service.list_emails(
        session,
        page,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        to=to,
    )
    items = [NotificationRead.model_validate(r) for r in rows]
    return Page(items=items, total=total, page=page.page, limit=page.limit)


@router.post("/{notification_id:uuid}/retry", response_model=NotificationRead)
async def retry_notification(
    principal: Admin, session: DbSession, now: Now, notification_id: uuid.UUID
) -> NotificationRead:
    """Queue a `failed` email again with a fresh set of attempts; a worker sends it within
    about a second. 404 NOTIFICATION_NOT_FOUND; 409 NOTIFICATION_NOT_FAILED for any other
    status (queued and sending mail is already on its way, sent mail is not sent twice)."""
    row = await service.retry(session, notification_id, now=now, actor=principal.actor)
    return NotificationRead.model_validate(row)
