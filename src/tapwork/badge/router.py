"""Badges: your own (/badges/me) and, for HR, everyone's (/users/{user_id}/badge)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from tapwork.auth.deps import Principal, require
from tapwork.badge import render, sheet
from tapwork.badge import service as badge_service
from tapwork.badge.models import Badge
from tapwork.badge.schemas import BadgeFormat, BadgeRead, RegenerateRequest
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now
from tapwork.errors import InvalidInput
from tapwork.permissions import P
from tapwork.user.models import User

router = APIRouter(tags=["badges"])

ReadOwn = Annotated[Principal, require(P.BADGES_READ_OWN)]
RegenerateOwn = Annotated[Principal, require(P.BADGES_REGENERATE_OWN)]
ReadAll = Annotated[Principal, require(P.BADGES_READ_ALL)]
Write = Annotated[Principal, require(P.BADGES_WRITE)]

FormatQuery = Annotated[
    BadgeFormat,
    Query(
        alias="format",
        description="png / svg: QR code; code128.png / code128.svg: barcode for printed "
        "badges; json: the code data and dates",
    ),
]
_BADGE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"image/png": {}, "image/svg+xml": {}, "application/json": {}},
        "description": "The badge in the requested format",
    }
}


def _badge_response(badge: Badge, user: User, fmt: BadgeFormat) -> Response:
    # A badge image is a credential: never cached by browsers or proxies.
    headers = {"Cache-Control": "no-store"}
    if fmt == "json":
        return Response(
            BadgeRead.model_validate(badge).model_dump_json(),
            media_type="application/json",
            headers=headers,
        )
    rendered = render.render(badge.code_data, fmt)
    headers["Content-Disposition"] = (
        f'inline; filename="badge-{user.employee_id}.{rendered.extension}"'
    )
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)


@router.get("/badges/me", responses=_BADGE_RESPONSES, response_class=Response)
async def read_my_badge(
    principal: ReadOwn,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    fmt: FormatQuery = "png",
) -> Response:
    """Your badge: a QR image (default PNG), a Code128 barcode, or its data as JSON.

    A badge is issued on first request if you have none.
    """
    badge = await badge_service.ensure_active(session, principal.user, now=now, settings=settings)
    return _badge_response(badge, principal.user, fmt)


@router.post("/badges/me/regenerate", response_model=BadgeRead)
async def regenerate_my_badge(
    principal: RegenerateOwn, session: DbSession, settings: AppSettings, now: Now
) -> BadgeRead:
    """Replace your badge (lost or photographed). The old one is refused at kiosks from now on
    (`BADGE_SUPERSEDED`)."""
    badge = await badge_service.regenerate(
        session, principal.user, actor=principal.actor, now=now, settings=settings
    )
    return BadgeRead.model_validate(badge)


@router.get(
    "/badges/sheet.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "A4 sheet of ID cards"}},
)
async def badge_sheet(
    principal: ReadAll,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    department_id: Annotated[
        uuid.UUID | None, Query(description="every active member of this department")
    ] = None,
    user_id: Annotated[
        list[uuid.UUID], Query(max_length=500, description="these users (repeatable)")
    ] = [],  # noqa: B006 - FastAPI copies query defaults per request
) -> Response:
    """Printable ID cards (name, employee id, department, QR and Code128), ten per A4 page.

    Give a department, users, or both. Users without a badge get one issued.
    """
    if department_id is None and not user_id:
        raise InvalidInput(
            "give department_id or at least one user_id", field="query.department_id"
        )
    cards = await badge_service.cards_for(
        session, department_id=department_id, user_ids=user_id, now=now, settings=settings
    )
    # reportlab is CPU-bound: keep the event loop free for the kiosks.
    pdf = await asyncio.to_thread(sheet.build_sheet, cards)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'inline; filename="badges.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/users/{user_id:uuid}/badge", responses=_BADGE_RESPONSES, response_class=Response)
async def read_user_badge(
    user_id: uuid.UUID,
    principal: ReadAll,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    fmt: FormatQuery = "png",
) -> Response:
    """A user's active badge in any format (issued on first request). 404 `USER_NOT_FOUND`."""
    user = await badge_service.user_or_404(session, user_id)
    badge = await badge_service.ensure_active(session, user, now=now, settings=settings)
    return _badge_response(badge, user, fmt)


@router.post("/users/{user_id:uuid}/badge/regenerate", response_model=BadgeRead)
async def regenerate_user_badge(
    user_id: uuid.UUID,
    principal: Write,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    body: RegenerateRequest | None = None,
) -> BadgeRead:
    """Issue a new badge for a user, optionally expiring at `expires_at`; the old one is
    refused at kiosks from now on (`BADGE_SUPERSEDED`). Audited."""
    user = await badge_service.user_or_404(session, user_id)
    expires_at = body.expires_at if body is not None else None
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("must be in the future", field="body.expires_at")
    badge = await badge_service.regenerate(
        session, user, actor=principal.actor, now=now, settings=settings, expires_at=expires_at
    )
    return BadgeRead.model_validate(badge)


@router.post("/users/{user_id:uuid}/badge/revoke", response_model=BadgeRead)
async def revoke_user_badge(
    user_id: uuid.UUID, principal: Write, session: DbSession, now: Now
) -> BadgeRead:
    """Revoke a user's badge (lost card): kiosks refuse it with `BADGE_REVOKED`. The next view
    of the user's badge issues a fresh one. 404 `BADGE_NOT_FOUND` if none is active. Audited."""
    user = await badge_service.user_or_404(session, user_id)
    badge = await badge_service.revoke(session, user, actor=principal.actor, now=now)
    return BadgeRead.model_validate(badge)
