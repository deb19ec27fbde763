"""The biometric step of a kiosk scan: asked before the scan is decided, recorded after.

`verify_for_scan` runs outside the scan's write transaction (a verify may take up to
`BIOMETRIC_TIMEOUT_SECONDS`, and no row lock should wait on it); `record_for_scan` files the
outcome with the record the scan produced. The scan itself never fails because of this step:
a mismatch or an unreachable service only flags it for review.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.biometric import service
from tapwork.biometric.client import BiometricClient
from tapwork.biometric.errors import FaceNotFound, InvalidImage, ServiceUnavailable
from tapwork.biometric.models import BiometricCheck
from tapwork.config import Settings
from tapwork.db import unit_of_work
from tapwork.errors import AppError
from tapwork.kiosk.models import Kiosk
from tapwork.kit.actor import Actor
from tapwork.kit.security import hash_token
from tapwork.notification import alerts, incidents
from tapwork.user.models import User

log = structlog.get_logger("tapwork.biometric")

# The face service's outage, as a general incident (notification/incidents.py): opened by the
# first scan that finds it down (one mail to each admin), closed by the first good verify.
INCIDENT_KEY = "biometric.down"


@dataclass(slots=True)
class Verdict:
    """What the verify said, before anything is written."""

    outcome: str  # match | mismatch | unavailable | no_image
    distance: float | None = None
    threshold: float | None = None
    reason: str | None = None


@dataclass(slots=True)
class FaceStep:
    """The `biometric` part of a scan answer."""

    outcome: str | None  # None: no check (not required, or badge-only: no consent / template)
    check_id: uuid.UUID | None = None
    retry: bool = False  # the kiosk should offer a retry (mismatch, no face in the frame)
    enroll_available: bool = False  # consented, not enrolled yet: the kiosk may enrol now

    @classmethod
    def of(cls, check: BiometricCheck) -> FaceStep:
        return cls(
            outcome=check.outcome,
            check_id=check.id,
            retry=check.review_status == "pending" and check.outcome in ("mismatch", "no_image"),
        )

    def as_answer(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "check_id": str(self.check_id) if self.check_id else None,
            "retry": self.retry,
            "enroll_available": self.enroll_available,
        }


async def verify_for_scan(
    session: AsyncSession,
    client: BiometricClient,
    user: User,
    *,
    location_id: uuid.UUID | None,
    image: str | None,
    now: datetime,
) -> Verdict | FaceStep | None:
    """None when no face is asked for here; a FaceStep when the holder takes the badge-only
    path; otherwise the verdict to record once the scan has its record."""
    if not await service.required_for(
        session, location_id=location_id, department_id=user.department_id
    ):
        return None
    template = await service.template_of(session, user.id)
    if template is None:
        consented = await service.active_consent(session, user.id) is not None
        return FaceStep(outcome=None, enroll_available=consented)
    if image is None:
        return Verdict("no_image")
    try:
        match, distance, threshold = await service.verify(session, client, template, image, now=now)
    except ServiceUnavailable as exc:
        log.warning("biometric_unavailable", reason=exc.details.get("reason") or exc.message)
        return Verdict("unavailable", reason=str(exc.details.get("reason") or exc.message))
    except (FaceNotFound, InvalidImage):
        return Verdict("mismatch")
    return Verdict("match" if match else "mismatch", distance, threshold)


async def record_for_scan(
    session: AsyncSession,
    verdict: Verdict,
    *,
    user_id: uuid.UUID,
    kiosk_id: uuid.UUID,
    client_scan_id: str,
    record_id: uuid.UUID | None,
    actor: Actor,
    now: datetime,
) -> FaceStep:
    """File the verdict once per scan: a retried scan (same kiosk, same `client_scan_id`) gets
    the first scan's check back, not a second row."""
    check, fresh = await service.record_check(
        session,
        user_id=user_id,
        kiosk_id=kiosk_id,
        client_scan_id=client_scan_id,
        record_id=record_id,
        outcome=verdict.outcome,
        distance=verdict.distance,
        threshold=verdict.threshold,
        actor=actor,
        now=now,
    )
    if fresh and verdict.outcome == "unavailable":
        await incidents.raise_incident(
            session,
            INCIDENT_KEY,
            now=now,
            code=alerts.BIOMETRIC_DOWN,
            params={"since": now.isoformat(), "reason": verdict.reason or ""},
        )
    elif fresh and verdict.outcome in ("match", "mismatch"):
        await incidents.clear_incident(session, INCIDENT_KEY, now=now)
    return FaceStep.of(check)


@dataclass(slots=True)
class Pending:
    """The face step of one scan between `before_scan` and `after_scan`."""

    user_id: uuid.UUID
    kiosk_id: uuid.UUID
    kiosk_label: str
    client_scan_id: str
    result: Verdict | FaceStep


async def before_scan(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: BiometricClient,
    *,
    settings: Settings,
    kiosk_token: str,
    code_data: str,
    client_scan_id: str,
    image: str | None,
    now: datetime,
) -> Pending | None:
    """Verify before the scan is decided, in a short read-only unit of work of its own (the
    scan's transaction never waits on the face service). None when there is nothing to do:
    an unknown kiosk or badge (the scan refuses it anyway), or no face asked for here."""
    async with unit_of_work(sessionmaker) as session:
        kiosk = await session.scalar(
            select(Kiosk).where(
                Kiosk.token_hash == hash_token(kiosk_token), Kiosk.revoked_at.is_(None)
            )
        )
        if kiosk is None:
            return None
        try:
            user = await service.badge_holder(session, code_data, settings=settings, now=now)
        except AppError:
            return None
        # A retried scan does not ask the face service again: its check was filed.
        filed = await service.check_for_scan(
            session, kiosk_id=kiosk.id, client_scan_id=client_scan_id
        )
        if filed is not None:
            return Pending(user.id, kiosk.id, kiosk.name, client_scan_id, FaceStep.of(filed))
        # A match restarts the template's retention clock (and a verify under an old key
        # re-seals it): the unit of work keeps that.
        result = await verify_for_scan(
            session, client, user, location_id=kiosk.location_id, image=image, now=now
        )
    if result is None:
        return None
    return Pending(user.id, kiosk.id, kiosk.name, client_scan_id, result)


async def after_scan(
    sessionmaker: async_sessionmaker[AsyncSession],
    pending: Pending,
    *,
    answer: dict[str, object],
    now: datetime,
    ip: str | None,
    request_id: str | None,
) -> dict[str, object] | None:
    """File the verdict with the record the scan produced; the `biometric` part of its
    answer. Only a scan that checked in or out gets a step (a refused scan has no record)."""
    if answer.get("action") not in ("check_in", "check_out"):
        return None
    if isinstance(pending.result, FaceStep):
        return pending.result.as_answer()
    record_id = answer.get("record_id")
    actor = Actor(
        type="kiosk", id=pending.kiosk_id, label=pending.kiosk_label, ip=ip, request_id=request_id
    )
    async with unit_of_work(sessionmaker) as session:
        step = await record_for_scan(
            session,
            pending.result,
            user_id=pending.user_id,
            kiosk_id=pending.kiosk_id,
            client_scan_id=pending.client_scan_id,
            record_id=uuid.UUID(str(record_id)) if record_id else None,
            actor=actor,
            now=now,
        )
    return step.as_answer()
