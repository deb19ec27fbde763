"""Consent, templates, policy and checks: everything the API does with biometrics.

Deleting never needs the face service or the key (a row delete in the caller's transaction), so
withdrawal and user deletion take effect at once even while the service is down.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tapwork.audit import service as audit
from tapwork.badge import codec
from tapwork.badge import keys as badge_keys
from tapwork.badge import service as badge_service
from tapwork.badge.models import Badge
from tapwork.biometric.client import BiometricClient
from tapwork.biometric.errors import (
    AlreadyEnrolled,
    CheckNotFound,
    ConsentExists,
    ConsentRequired,
    NotEnrolled,
    NoticeOutdated,
)
from tapwork.biometric.models import (
    BiometricCheck,
    BiometricConsent,
    BiometricRequirement,
    BiometricTemplate,
)
from tapwork.biometric.notice import NOTICE_VERSION, notice_text
from tapwork.biometric.protocol import SealedTemplate
from tapwork.biometric.schemas import BiometricStatus, ConsentRead, PolicyRead, PolicyUpdate
from tapwork.config import Settings
from tapwork.errors import InvalidInput
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate
from tapwork.user.models import User


async def badge_holder(
    session: AsyncSession, code_data: str, *, settings: Settings, now: datetime
) -> User:
    """The holder of a badge just scanned at a kiosk, with the scan's own checks (signature,
    known, not revoked or superseded, not expired): InvalidQrCode, BadgeRevoked, ..."""
    badge_id = codec.verify(code_data, badge_keys.keyring(settings))
    newer = aliased(Badge)
    superseded = (
        exists()
        .where(newer.user_id == Badge.user_id, newer.revoked_at.is_(None), newer.id != Badge.id)
        .label("superseded")
    )
    row = (await session.execute(select(Badge, superseded).where(Badge.id == badge_id))).first()
    badge, is_superseded = row if row is not None else (None, False)
    badge_service.check_scanned(
        code_data,
        {
            "id": badge.id if badge else None,
            "code_data": badge.code_data if badge else None,
            "revoked_at": badge.revoked_at if badge else None,
            "superseded": is_superseded,
            "expires_at": badge.expires_at if badge else None,
        },
        now=now,
    )
    assert badge is not None
    user = await session.get(User, badge.user_id)
    assert user is not None  # badges go with their user
    return user


async def active_consent(session: AsyncSession, user_id: uuid.UUID) -> BiometricConsent | None:
    return await session.scalar(
        select(BiometricConsent).where(
            BiometricConsent.user_id == user_id, BiometricConsent.withdrawn_at.is_(None)
        )
    )


async def template_of(session: AsyncSession, user_id: uuid.UUID) -> BiometricTemplate | None:
    return await session.get(BiometricTemplate, user_id)


async def give_consent(
    session: AsyncSession,
    user: User,
    *,
    notice_version: str,
    retention_days: int,
    actor: Actor,
    now: datetime,
) -> BiometricConsent:
    """Record that `user` accepted the current notice (its exact text is stored with it)."""
    if notice_version != NOTICE_VERSION:
        raise NoticeOutdated("Read and accept the current notice", current_version=NOTICE_VERSION)
    consent = BiometricConsent(
        user_id=user.id,
        notice_version=NOTICE_VERSION,
        notice_text=notice_text(retention_days=retention_days),
        given_at=now,
        recorded_by_id=actor.id,
        recorded_by_label=actor.label,
    )
    try:
        async with session.begin_nested():  # one active consent per user, decided by an index
            session.add(consent)
    except IntegrityError as exc:
        raise ConsentExists("Consent is already recorded") from exc
    await audit.record(
        session,
        actor,
        "biometric.consent",
        "user",
        user.id,
        new={"notice_version": NOTICE_VERSION, "given_at": now},
    )
    return consent


async def delete_template(
    session: AsyncSession, user_id: uuid.UUID, *, actor: Actor, reason: str
) -> bool:
    deleted = await session.scalar(
        delete(BiometricTemplate)
        .where(BiometricTemplate.user_id == user_id)
        .returning(BiometricTemplate.user_id)
    )
    if deleted is None:
        return False
    await audit.record(
        session,
        actor,
        "biometric.delete",
        "user",
        user_id,
        old={"enrolled": True},
        new={"reason": reason},
    )
    return True


async def withdraw_consent(
    session: AsyncSession, user_id: uuid.UUID, *, actor: Actor, now: datetime
) -> None:
    """Withdraw the active consent and delete the template in the same transaction."""
    consent = await active_consent(session, user_id)
    if consent is None:
        raise ConsentRequired("There is no active consent to withdraw")
    await delete_template(session, user_id, actor=actor, reason="consent_withdrawn")
    consent.withdrawn_at = now
    await session.flush()
    await audit.record(
        session, actor, "biometric.withdraw", "user", user_id, new={"withdrawn_at": now}
    )


async def required_for(
    session: AsyncSession, *, location_id: uuid.UUID | None, department_id: uuid.UUID | None
) -> bool:
    """Whether a scan at this location, by someone of this department, asks for a face."""
    targets = []
    if location_id is not None:
        targets.append(BiometricRequirement.location_id == location_id)
    if department_id is not None:
        targets.append(BiometricRequirement.department_id == department_id)
    if not targets:
        return False
    found = await session.scalar(select(BiometricRequirement.id).where(or_(*targets)).limit(1))
    return found is not None


async def may_be_required_at(session: AsyncSession, *, location_id: uuid.UUID | None) -> bool:
    """Whether some scan at this location may ask for a face (its own requirement, or any
    department's)."""
    query = select(BiometricRequirement.id).where(BiometricRequirement.department_id.is_not(None))
    if location_id is not None:
        query = select(BiometricRequirement.id).where(
            or_(
                BiometricRequirement.department_id.is_not(None),
                BiometricRequirement.location_id == location_id,
            )
        )
    return await session.scalar(query.limit(1)) is not None


async def status(session: AsyncSession, user: User) -> BiometricStatus:
    consent = await active_consent(session, user.id)
    template = await template_of(session, user.id)
    required = await required_for(
        session, location_id=user.location_id, department_id=user.department_id
    )
    return BiometricStatus(
        user_id=user.id,
        consent=ConsentRead.model_validate(consent) if consent else None,
        enrolled=template is not None,
        enrolled_at=template.enrolled_at if template else None,
        last_used_at=template.last_used_at if template else None,
        required=required,
    )


async def get_policy(session: AsyncSession) -> PolicyRead:
    rows = (await session.scalars(select(BiometricRequirement))).all()
    return PolicyRead(
        location_ids=sorted(r.location_id for r in rows if r.location_id),
        department_ids=sorted(r.department_id for r in rows if r.department_id),
    )


async def set_policy(session: AsyncSession, data: PolicyUpdate, *, actor: Actor) -> PolicyRead:
    """Replace where verification is required. Unknown ids are a 422 (foreign keys)."""
    old = await get_policy(session)
    await session.execute(delete(BiometricRequirement))
    for location_id in set(data.location_ids):
        session.add(BiometricRequirement(location_id=location_id))
    for department_id in set(data.department_ids):
        session.add(BiometricRequirement(department_id=department_id))
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise InvalidInput("An unknown location or department was given") from exc
    new = await get_policy(session)
    await audit.record(
        session,
        actor,
        "biometric.policy",
        "settings",
        None,
        old=old.model_dump(mode="json"),
        new=new.model_dump(mode="json"),
    )
    return new


def sealed_of(template: BiometricTemplate) -> SealedTemplate:
    return SealedTemplate(
        key_id=template.key_id,
        nonce=base64.b64encode(template.nonce).decode(),
        ciphertext=base64.b64encode(template.ciphertext).decode(),
    )


def store_sealed(template: BiometricTemplate, sealed: SealedTemplate) -> None:
    template.key_id = sealed.key_id
    template.nonce = base64.b64decode(sealed.nonce)
    template.ciphertext = base64.b64decode(sealed.ciphertext)


async def enroll(
    session: AsyncSession,
    client: BiometricClient,
    user: User,
    images: list[str],
    *,
    actor: Actor,
    now: datetime,
) -> BiometricTemplate:
    """Turn 3-5 images into the user's template. Needs an active consent and no template yet
    (re-enrolment = delete, then enrol): a kiosk cannot overwrite someone's face."""
    consent = await active_consent(session, user.id)
    if consent is None:
        raise ConsentRequired("The employee has not consented to face verification")
    if await template_of(session, user.id) is not None:
        raise AlreadyEnrolled("A face template exists; delete it first to enrol again")
    answer = await client.enroll(user.id, images)
    template = BiometricTemplate(
        user_id=user.id,
        consent_id=consent.id,
        images_used=answer.images_used,
        enrolled_at=now,
        enrolled_by_id=actor.id,
        enrolled_by_label=actor.label,
        last_used_at=now,
    )
    store_sealed(template, answer.template)
    try:
        async with session.begin_nested():
            session.add(template)
    except IntegrityError as exc:  # two enrolments raced
        raise AlreadyEnrolled("A face template exists; delete it first to enrol again") from exc
    await audit.record(
        session,
        actor,
        "biometric.enroll",
        "user",
        user.id,
        new={"images_used": answer.images_used, "key_id": answer.template.key_id},
    )
    return template


async def verify(
    session: AsyncSession,
    client: BiometricClient,
    template: BiometricTemplate,
    image: str,
    *,
    now: datetime,
) -> tuple[bool, float, float]:
    """Ask the service; on a match the template's retention clock restarts."""
    answer = await client.verify(template.user_id, image, sealed_of(template))
    if answer.resealed is not None:
        store_sealed(template, answer.resealed)
    if answer.match:
        template.last_used_at = now
    return answer.match, answer.distance, answer.threshold


async def record_check(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    kiosk_id: uuid.UUID,
    client_scan_id: str,
    record_id: uuid.UUID | None,
    outcome: str,
    distance: float | None,
    threshold: float | None,
    actor: Actor,
    now: datetime,
) -> tuple[BiometricCheck, bool]:
    """The scan's check, and whether this call filed it. One row per scan, decided by the
    unique (kiosk_id, client_scan_id): a retried scan, even racing the first, gets the first
    scan's check."""
    check_id = await session.scalar(
        insert(BiometricCheck)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            kiosk_id=kiosk_id,
            client_scan_id=client_scan_id,
            record_id=record_id,
            outcome=outcome,
            distance=distance,
            threshold=threshold,
            checked_at=now,
            review_status=None if outcome == "match" else "pending",
        )
        .on_conflict_do_nothing(index_elements=["kiosk_id", "client_scan_id"])
        .returning(BiometricCheck.id)
    )
    if check_id is None:
        existing = await check_for_scan(session, kiosk_id=kiosk_id, client_scan_id=client_scan_id)
        assert existing is not None  # the conflicting row; checks are never deleted alone
        return existing, False
    check = await session.get(BiometricCheck, check_id)
    assert check is not None
    await audit.record(
        session,
        actor,
        "biometric.verify",
        "user",
        user_id,
        new={"outcome": outcome, "distance": distance, "check_id": check.id},
    )
    return check, True


async def check_for_scan(
    session: AsyncSession, *, kiosk_id: uuid.UUID, client_scan_id: str
) -> BiometricCheck | None:
    return await session.scalar(
        select(BiometricCheck).where(
            BiometricCheck.kiosk_id == kiosk_id, BiometricCheck.client_scan_id == client_scan_id
        )
    )


async def get_check(session: AsyncSession, check_id: uuid.UUID) -> BiometricCheck:
    check = await session.get(BiometricCheck, check_id, with_for_update=True)
    if check is None:
        raise CheckNotFound("No such check", id=str(check_id))
    return check


async def retry_check(
    session: AsyncSession,
    client: BiometricClient,
    check: BiometricCheck,
    image: str,
    *,
    actor: Actor,
    now: datetime,
) -> BiometricCheck:
    """A kiosk's second try after a mismatch: a match clears the flag, the scan stands."""
    template = await template_of(session, check.user_id)
    if template is None:
        raise NotEnrolled("The employee has no face template")
    match, distance, threshold = await verify(session, client, template, image, now=now)
    check.attempts += 1
    check.distance, check.threshold = distance, threshold
    if match:
        check.outcome, check.review_status = "match", "resolved"
    await session.flush()
    await audit.record(
        session,
        actor,
        "biometric.verify",
        "user",
        check.user_id,
        new={
            "outcome": "match" if match else "mismatch",
            "distance": distance,
            "check_id": check.id,
            "attempt": check.attempts,
        },
    )
    return check


async def list_checks(
    session: AsyncSession, params: PageParams, *, review_status: str | None
) -> tuple[list[tuple[BiometricCheck, str]], int]:
    """Checks, newest first, each with the employee's name (for the review queue)."""
    query = select(BiometricCheck).order_by(
        BiometricCheck.checked_at.desc(), BiometricCheck.id.desc()
    )
    if review_status is not None:
        query = query.where(BiometricCheck.review_status == review_status)
    checks, total = await paginate(session, query, params)
    users = await session.scalars(select(User).where(User.id.in_({c.user_id for c in checks})))
    names = {u.id: u.full_name for u in users}
    return [(c, names.get(c.user_id, "")) for c in checks], total


async def resolve_check(
    session: AsyncSession, check_id: uuid.UUID, *, actor: Actor
) -> BiometricCheck:
    check = await get_check(session, check_id)
    check.review_status = "resolved"
    await session.flush()
    await audit.record(
        session,
        actor,
        "biometric.review",
        "biometric_check",
        check.id,
        new={"review_status": "resolved"},
    )
    return check


async def purge_expired(
    session: AsyncSession, *, now: datetime, retention_days: int, actor: Actor
) -> int:
    """Delete templates unused for `retention_days`; each deletion is audited."""
    cutoff = now - timedelta(days=retention_days)
    user_ids = (
        await session.scalars(
            delete(BiometricTemplate)
            .where(BiometricTemplate.last_used_at < cutoff)
            .returning(BiometricTemplate.user_id)
        )
    ).all()
    for user_id in user_ids:
        await audit.record(
            session,
            actor,
            "biometric.delete",
            "user",
            user_id,
            old={"enrolled": True},
            new={"reason": "retention", "retention_days": retention_days},
        )
    return len(user_ids)
