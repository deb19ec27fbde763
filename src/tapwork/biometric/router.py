from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from tapwork.auth.deps import CurrentUser, Principal, require
from tapwork.badge import service as badge_service
from tapwork.biometric import service
from tapwork.biometric.deps import Biometrics, client_for, enabled
from tapwork.biometric.errors import CheckNotFound
from tapwork.biometric.notice import NOTICE_VERSION, notice_text
from tapwork.biometric.schemas import (
    BiometricStatus,
    CheckRead,
    ConsentCreate,
    ConsentRead,
    EnrollRead,
    EnrollRequest,
    KioskConfig,
    KioskEnrollRequest,
    KioskVerifyRequest,
    NoticeRead,
    PolicyRead,
    PolicyUpdate,
)
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now
from tapwork.kiosk.deps import CurrentKiosk, kiosk_actor
from tapwork.kit.pagination import Page, Pagination
from tapwork.permissions import P
from tapwork.user import service as user_service

router = APIRouter(prefix="/biometric", tags=["biometric"])

Manager = Annotated[Principal, require(P.BIOMETRIC_MANAGE)]
Admin = Annotated[Principal, require(P.SETTINGS_WRITE)]


@router.get("/notice", response_model=NoticeRead)
async def read_notice(_: CurrentUser, settings: AppSettings) -> NoticeRead:
    """The notice an employee reads before consenting; consent names its `version`."""
    days = settings.biometric_retention_days
    return NoticeRead(
        version=NOTICE_VERSION, text=notice_text(retention_days=days), retention_days=days
    )


@router.get("/me", response_model=BiometricStatus)
async def read_my_status(
    principal: CurrentUser, session: DbSession, settings: AppSettings
) -> BiometricStatus:
    """Your consent, whether a face template exists, whether your workplace asks for it, and
    whether this server uses face verification at all."""
    status = await service.status(session, principal.user)
    return status.model_copy(update={"enabled": settings.biometric_enabled})


@router.post("/me/consent", response_model=ConsentRead, status_code=201)
async def give_my_consent(
    principal: CurrentUser, session: DbSession, settings: AppSettings, now: Now, body: ConsentCreate
) -> ConsentRead:
    """Consent to face verification, naming the notice version you read (422
    BIOMETRIC_NOTICE_OUTDATED if it is not the current one; 409 if already given)."""
    consent = await service.give_consent(
        session,
        principal.user,
        notice_version=body.notice_version,
        retention_days=settings.biometric_retention_days,
        actor=principal.actor,
        now=now,
    )
    return ConsentRead.model_validate(consent)


@router.delete("/me/consent", status_code=204)
async def withdraw_my_consent(principal: CurrentUser, session: DbSession, now: Now) -> Response:
    """Withdraw consent: your face template is deleted at once. The badge keeps working."""
    await service.withdraw_consent(session, principal.user.id, actor=principal.actor, now=now)
    return Response(status_code=204)


@router.get("/users/{user_id}", response_model=BiometricStatus)
async def read_user_status(
    _: Manager, session: DbSession, settings: AppSettings, user_id: uuid.UUID
) -> BiometricStatus:
    """An employee's consent and enrolment (HR)."""
    user = await badge_service.user_or_404(session, user_id)
    status = await service.status(session, user)
    return status.model_copy(update={"enabled": settings.biometric_enabled})


@router.post("/enroll", response_model=EnrollRead, status_code=201)
async def enroll(
    principal: Manager, session: DbSession, client: Biometrics, now: Now, body: EnrollRequest
) -> EnrollRead:
    """Enrol an employee who has consented, from 3-5 photos (base64 JPEG/PNG). The photos are
    not stored. 409 BIOMETRIC_CONSENT_REQUIRED without consent, 422 FACE_NOT_FOUND, 503 if the
    face service is down."""
    user = await badge_service.user_or_404(session, body.user_id)
    user_service.ensure_may_manage(principal.actor, user)
    template = await service.enroll(
        session, enabled(client), user, body.images, actor=principal.actor, now=now
    )
    return EnrollRead(
        user_id=user.id, enrolled_at=template.enrolled_at, images_used=template.images_used
    )


@router.delete("/users/{user_id}/template", status_code=204)
async def delete_template(principal: Manager, session: DbSession, user_id: uuid.UUID) -> Response:
    """Delete an employee's face template (they can enrol again; consent is kept)."""
    user = await badge_service.user_or_404(session, user_id)
    user_service.ensure_may_manage(principal.actor, user)
    await service.delete_template(session, user.id, actor=principal.actor, reason="deleted_by_hr")
    return Response(status_code=204)


@router.get("/kiosk/config", response_model=KioskConfig)
async def kiosk_config(kiosk: CurrentKiosk, session: DbSession, request: Request) -> KioskConfig:
    """Whether this kiosk should send a camera frame with each online scan: biometrics are on
    and required at its location or for some department."""
    capture = client_for(request) is not None and await service.may_be_required_at(
        session, location_id=kiosk.location_id
    )
    return KioskConfig(capture_face=capture)


@router.post("/kiosk/enroll", response_model=EnrollRead, status_code=201)
async def kiosk_enroll(
    kiosk: CurrentKiosk,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    client: Biometrics,
    now: Now,
    body: KioskEnrollRequest,
) -> EnrollRead:
    """At the kiosk, right after a scan: enrol the badge holder from 3-5 camera frames. Only for
    an employee who consented in self-service and has no template yet."""
    user = await service.badge_holder(session, body.code_data, settings=settings, now=now)
    template = await service.enroll(
        session, enabled(client), user, body.images, actor=kiosk_actor(kiosk, request), now=now
    )
    return EnrollRead(
        user_id=user.id, enrolled_at=template.enrolled_at, images_used=template.images_used
    )


@router.post("/kiosk/verify", response_model=CheckRead)
async def kiosk_verify(
    kiosk: CurrentKiosk,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    client: Biometrics,
    now: Now,
    body: KioskVerifyRequest,
) -> CheckRead:
    """Retry a flagged check with a new frame: a match clears the flag (`review_status:
    resolved`); a mismatch leaves it for HR. The scan itself already stands."""
    check = await service.get_check(session, body.check_id)
    user = await service.badge_holder(session, body.code_data, settings=settings, now=now)
    if check.user_id != user.id or check.kiosk_id != kiosk.id or check.review_status != "pending":
        raise CheckNotFound("No pending check for this badge at this kiosk")
    check = await service.retry_check(
        session, enabled(client), check, body.image, actor=kiosk_actor(kiosk, request), now=now
    )
    return CheckRead.model_validate(check)


@router.get("/checks", response_model=Page[CheckRead])
async def list_checks(
    _: Manager,
    session: DbSession,
    page: Pagination,
    review_status: Annotated[Literal["pending", "resolved"] | None, Query()] = None,
) -> Page[CheckRead]:
    """Verification outcomes, newest first; `review_status=pending` is the HR queue."""
    rows, total = await service.list_checks(session, page, review_status=review_status)
    return Page(
        items=[CheckRead.of(check, name) for check, name in rows],
        total=total,
        page=page.page,
        limit=page.limit,
    )


@router.post("/checks/{check_id}/resolve", response_model=CheckRead)
async def resolve_check(principal: Manager, session: DbSession, check_id: uuid.UUID) -> CheckRead:
    """Mark a flagged check as reviewed."""
    check = await service.resolve_check(session, check_id, actor=principal.actor)
    return CheckRead.model_validate(check)


@router.get("/policy", response_model=PolicyRead)
async def read_policy(_: Admin, session: DbSession) -> PolicyRead:
    """Where face verification is required: these locations and departments."""
    return await service.get_policy(session)


@router.put("/policy", response_model=PolicyRead)
async def update_policy(principal: Admin, session: DbSession, body: PolicyUpdate) -> PolicyRead:
    """Replace the lists. Employees without consent keep the badge-only path everywhere."""
    return await service.set_policy(session, body, actor=principal.actor)
