from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from tapwork.auth.deps import Principal, RequestClient, require
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now
from tapwork.errors import InvalidInput
from tapwork.kit.pagination import Page, Pagination
from tapwork.kit.types import Instant, Search
from tapwork.notification import incidents, service
from tapwork.notification.kinds import Kind
from tapwork.notification.render import label_of, render_page
from tapwork.notification.schemas import (
    BulkRetry,
    BulkRetryResult,
    DeliveryStatus,
    IncidentRead,
    MailSettings,
    NotificationRead,
)
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
    since: Annotated[Instant | None, Query(description="created at or after (ISO 8601)")] = None,
    until: Annotated[Instant | None, Query(description="created before (ISO 8601)")] = None,
) -> Page[NotificationRead]:
    """Email delivery status, newest first.

    `queued` mail waits for a worker (after a failure, until `next_attempt_at`); `sending` is
    leased to a worker; `sent` was accepted by the SMTP server; `failed` gave up after the
    configured number of attempts (or a permanent refusal) and can be retried by an admin.
    """
    if since and until and until <= since:
        raise InvalidInput("must be after since", field="query.until")
    filters = service.EmailFilter(
        status=status.value if status else None,
        kind=kind.value if kind else None,
        to=to,
        since=since,
        until=until,
    )
    rows, total = await service.list_emails(session, page, filters)
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


@router.post("/retry", response_model=BulkRetryResult)
async def retry_failed_notifications(
    body: BulkRetry, principal: Admin, session: DbSession, now: Now
) -> BulkRetryResult:
    """Queue every `failed` email matching the filters again, each with a fresh set of
    attempts (after a long relay outage). Answers how many; with `dry_run` only counts them,
    changing nothing. Workers send them from the next batch on, oldest first. Audited once as
    `notification.retry_bulk` with the filter and the count."""
    filters = service.EmailFilter(
        kind=body.kind.value if body.kind else None,
        to=body.to,
        since=body.since,
        until=body.until,
    )
    count = await service.retry_failed(
        session, filters, now=now, actor=principal.actor, dry_run=body.dry_run
    )
    return BulkRetryResult(requeued=count, dry_run=body.dry_run)


UnsubscribeUser = Annotated[uuid.UUID, Query(alias="u", description="the user the link is for")]
UnsubscribeKind = Annotated[str, Query(alias="k", max_length=64, description="an optional kind")]
UnsubscribeSig = Annotated[str, Query(alias="s", max_length=64, description="the link's HMAC")]


async def _unsubscribe_page(
    session: DbSession,
    settings: AppSettings,
    client: RequestClient,
    user_id: uuid.UUID,
    kind: str,
    signature: str,
    *,
    apply: bool,
) -> HTMLResponse:
    user, known = await service.unsubscribe(
        session, user_id, kind, signature, settings=settings, apply=apply, ip=client.ip
    )
    page = render_page(
        "unsubscribe_page",
        {
            "kind_label": label_of(known.value, user.language),
            "email": user.email,
            "done": apply or not service.wants(user, known),
            "portal_url": settings.public_url.rstrip("/"),
        },
        language=user.language,
    )
    # The link is a credential for this one change: keep it out of caches and referrers.
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(page, headers=headers)


@router.get("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_form(
    session: DbSession,
    settings: AppSettings,
    client: RequestClient,
    user_id: UnsubscribeUser,
    kind: UnsubscribeKind,
    signature: UnsubscribeSig,
) -> HTMLResponse:
    """The page an optional email's unsubscribe link opens, in the user's language: one
    button that turns that kind of email off. Opening it changes nothing (mail scanners
    follow links). No sign-in: the link is signed. 404 UNSUBSCRIBE_LINK_INVALID otherwise."""
    return await _unsubscribe_page(session, settings, client, user_id, kind, signature, apply=False)


# RFC 8058: mail clients POST `List-Unsubscribe=One-Click` form-encoded; the page's button
# posts its form. The request middleware accepts these media types on this path only.
ONE_CLICK_MEDIA_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_one_click(
    session: DbSession,
    settings: AppSettings,
    client: RequestClient,
    user_id: UnsubscribeUser,
    kind: UnsubscribeKind,
    signature: UnsubscribeSig,
) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (the `List-Unsubscribe-Post` target; mail clients POST
    `List-Unsubscribe=One-Click`), and the page's button: turns that kind off for the link's
    user without sign-in, idempotently, audited as `notification.unsubscribe`."""
    return await _unsubscribe_page(session, settings, client, user_id, kind, signature, apply=True)


@router.get("/settings", response_model=MailSettings)
async def read_mail_settings(_: Admin, session: DbSession) -> MailSettings:
    """The organisation's mail settings (admins)."""
    return MailSettings.model_validate(await service.mail_settings(session))


@router.put("/settings", response_model=MailSettings)
async def update_mail_settings(
    body: MailSettings, principal: Admin, session: DbSession, now: Now
) -> MailSettings:
    """Change how attendance confirmations are sent. Applies to the next scan (per_scan /
    daily_digest) or the next user created (off_for_new_users); audited as
    `notification.settings`."""
    row = await service.update_mail_settings(
        session, body.attendance_confirmations, actor=principal.actor, now=now
    )
    return MailSettings.model_validate(row)


@router.get("/incidents", response_model=list[IncidentRead])
async def list_incidents(
    _: Admin,
    session: DbSession,
    now: Now,
    closed_within_days: Annotated[
        int, Query(ge=0, le=90, description="also those closed in the last N days")
    ] = 0,
) -> list[IncidentRead]:
    """Open incidents, newest first: what admins were alerted about (`admin_alert`, once per
    incident) and is not resolved yet. They close themselves when the cause clears. With
    `closed_within_days`, the incidents closed in that many days follow (newest first; at
    most 200 in all)."""
    if closed_within_days:
        rows = await incidents.recent(
            session, now=now, closed_within=timedelta(days=closed_within_days)
        )
    else:
        rows = await incidents.open_incidents(session)
    return [IncidentRead.model_validate(i) for i in rows]
