"""/api/v1/kiosks: enrolment and pairing of scanning devices (admins), and the kiosk's own view."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tapwork.auth.deps import Principal, require
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now
from tapwork.kiosk import health
from tapwork.kiosk import service as kiosk_service
from tapwork.kiosk.deps import CurrentKiosk
from tapwork.kiosk.errors import RevokedKioskNeedsAdmin
from tapwork.kiosk.schemas import (
    KioskCreate,
    KioskEnrolled,
    KioskMe,
    KioskRead,
    KioskUpdate,
    LocationBrief,
    PairedKiosk,
    PairRequest,
    PairResponse,
)
from tapwork.kit.pagination import Page, Pagination
from tapwork.limits import by_ip, rate_limit
from tapwork.permissions import P

router = APIRouter(prefix="/kiosks", tags=["kiosks"])

Readers = Annotated[Principal, require(P.KIOSKS_READ)]
Writers = Annotated[Principal, require(P.KIOSKS_WRITE)]
# HR sets kiosks up at the door (issue 4: "HR enrols a kiosk and pairs it"); revoking,
# deleting and bringing a revoked kiosk back stay with kiosks:write (admins).
Enrollers = Annotated[Principal, require(P.KIOSKS_WRITE, P.KIOSKS_ENROLL)]


@router.get("/me", response_model=KioskMe)
async def read_me(kiosk: CurrentKiosk, now: Now) -> KioskMe:
    """The calling kiosk (by `X-Kiosk-Token`), its location and the server's clock.

    Kiosks may send `X-Kiosk-Version` and `X-Kiosk-Time` (ISO 8601) on any call; they are
    recorded as app version and clock offset. `X-Kiosk-Queue` (the number of scans waiting in
    the device's offline queue) is recorded on every call but the scan. 401
    `KIOSK_UNAUTHORIZED` for a missing or unknown token, 401 `KIOSK_REVOKED` once an admin
    revoked the kiosk.
    """
    location = LocationBrief.model_validate(kiosk.location)
    return KioskMe(
        kiosk=PairedKiosk.model_validate(kiosk),
        location=location,
        server_time=now,
        clock_offset_ms=kiosk.clock_offset_ms,
    )


@router.post(
    "/pair",
    response_model=PairResponse,
    dependencies=[
        rate_limit("kiosk_pair", by_ip(), limit=lambda s: s.rate_limit_kiosk_pair_per_minute)
    ],
)
async def pair(body: PairRequest, session: DbSession, now: Now) -> PairResponse:
    """Exchange a one-time pairing code for this device's token (no other authentication).

    The code works once and expires (`PAIRING_CODE_INVALID`, `PAIRING_CODE_EXPIRED`, both 400).
    Attempts are limited per IP address (429 `RATE_LIMITED`, with `Retry-After` and
    `X-RateLimit-*` like every limited answer).
    """
    kiosk, token = await kiosk_service.pair(
        session, body.pairing_code, app_version=body.app_version, now=now
    )
    return PairResponse(device_token=token, kiosk=PairedKiosk.model_validate(kiosk))


@router.get("", response_model=Page[KioskRead])
async def list_kiosks(
    principal: Readers,
    session: DbSession,
    pagination: Pagination,
    location_id: Annotated[uuid.UUID | None, Query(description="only this location")] = None,
) -> Page[KioskRead]:
    """Kiosks by name, with status (pending / active / revoked) and fleet health: last seen
    time, app version, clock offset, offline-queue length, and `silent_since` while a
    silent-kiosk incident is open."""
    items, total = await kiosk_service.list_kiosks(session, pagination, location_id=location_id)
    silent = await health.silent_alerts(session)
    return Page(
        items=[KioskRead.of(k, silent=silent) for k in items],
        total=total,
        page=pagination.page,
        limit=pagination.limit,
    )


@router.post("", response_model=KioskEnrolled, status_code=status.HTTP_201_CREATED)
async def create_kiosk(
    body: KioskCreate, principal: Enrollers, session: DbSession, settings: AppSettings, now: Now
) -> KioskEnrolled:
    """Enrol a kiosk at a location. The answer holds a one-time `pairing_code` (8 characters,
    valid 15 minutes) to enter on the device; it is not shown again."""
    kiosk, code = await kiosk_service.create(
        session, body, actor=principal.actor, now=now, settings=settings
    )
    assert kiosk.pairing_expires_at is not None
    return KioskEnrolled(
        kiosk=KioskRead.of(kiosk), pairing_code=code, pairing_expires_at=kiosk.pairing_expires_at
    )


@router.get("/{kiosk_id:uuid}", response_model=KioskRead)
async def read_kiosk(kiosk_id: uuid.UUID, principal: Readers, session: DbSession) -> KioskRead:
    """One kiosk, with its fleet health as in the list. 404 `KIOSK_NOT_FOUND`."""
    kiosk = await kiosk_service.get(session, kiosk_id)
    return KioskRead.of(kiosk, silent=await health.silent_alerts(session))


@router.put("/{kiosk_id:uuid}", response_model=KioskRead)
async def update_kiosk(
    kiosk_id: uuid.UUID, body: KioskUpdate, principal: Writers, session: DbSession
) -> KioskRead:
    """Rename a kiosk or move it to another location (fields left out keep their value)."""
    kiosk = await kiosk_service.get(session, kiosk_id)
    kiosk = await kiosk_service.update(session, kiosk, body, actor=principal.actor)
    return KioskRead.of(kiosk)


@router.delete("/{kiosk_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_kiosk(kiosk_id: uuid.UUID, principal: Writers, session: DbSession) -> Response:
    """Delete a kiosk that never scanned. One with scan history is 409 `KIOSK_IN_USE`: revoke
    it instead, so its scan log is kept."""
    kiosk = await kiosk_service.get(session, kiosk_id)
    await kiosk_service.delete(session, kiosk, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{kiosk_id:uuid}/pairing-code", response_model=KioskEnrolled)
async def new_pairing_code(
    kiosk_id: uuid.UUID, principal: Enrollers, session: DbSession, settings: AppSettings, now: Now
) -> KioskEnrolled:
    """Issue a new one-time pairing code. The kiosk's current device token stops working at
    once. For a revoked kiosk this brings it back once it pairs again, which needs
    `kiosks:write` (403 `KIOSK_REVOKED_NEEDS_ADMIN` with `kiosks:enroll` alone)."""
    kiosk = await kiosk_service.get(session, kiosk_id)
    if kiosk.revoked_at is not None and not principal.can(P.KIOSKS_WRITE):
        raise RevokedKioskNeedsAdmin(
            "Only an administrator can bring a revoked kiosk back", kiosk_id=str(kiosk.id)
        )
    code = await kiosk_service.reissue_pairing_code(
        session, kiosk, actor=principal.actor, now=now, settings=settings
    )
    assert kiosk.pairing_expires_at is not None
    return KioskEnrolled(
        kiosk=KioskRead.of(kiosk), pairing_code=code, pairing_expires_at=kiosk.pairing_expires_at
    )


@router.post("/{kiosk_id:uuid}/revoke", response_model=KioskRead)
async def revoke_kiosk(
    kiosk_id: uuid.UUID, principal: Writers, session: DbSession, now: Now
) -> KioskRead:
    """Revoke a kiosk: its token is refused from the next request (401 `KIOSK_REVOKED`)."""
    kiosk = await kiosk_service.get(session, kiosk_id)
    return KioskRead.of(await kiosk_service.revoke(session, kiosk, actor=principal.actor, now=now))
