"""Enrolling, pairing and revoking kiosks.

Pairing: an admin enrols a kiosk and reads a short one-time code to whoever sets up the
device; the device exchanges it (once, within `kiosk_pairing_minutes`) for a long random device
token. Both are stored as SHA-256 only.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.models import ScanEvent
from tapwork.audit import service as audit
from tapwork.config import Settings
from tapwork.kiosk.errors import (
    KioskHasScans,
    KioskNotFound,
    PairingCodeExpired,
    PairingCodeInvalid,
)
from tapwork.kiosk.models import Kiosk
from tapwork.kiosk.schemas import KioskCreate, KioskUpdate
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate
from tapwork.kit.security import hash_token, new_token
from tapwork.location.errors import LocationNotFound
from tapwork.location.models import Location

# No 0/O, 1/I/L: read aloud or typed from a sticky note without mistakes. 31^8 ≈ 2^39, and
# the pair endpoint is rate-limited per IP and the code lives 15 minutes.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PAIRING_LENGTH = 8
AUDIT_FIELDS = ("name", "location_id", "paired_at", "revoked_at", "pairing_expires_at")


def new_pairing_code() -> str:
    return "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_LENGTH))


def normalize_pairing_code(code: str) -> str:
    """Accept `abcd-efgh`, `ABCD EFGH` and `ABCDEFGH` alike."""
    return "".join(ch for ch in code.upper() if ch not in " -")


async def _location(session: AsyncSession, location_id: uuid.UUID) -> Location:
    location = await session.get(Location, location_id)
    if location is None:
        raise LocationNotFound("No such location", location_id=str(location_id))
    return location


async def get(session: AsyncSession, kiosk_id: uuid.UUID) -> Kiosk:
    kiosk = await session.scalar(select(Kiosk).where(Kiosk.id == kiosk_id))
    if kiosk is None:
        raise KioskNotFound("No such kiosk", kiosk_id=str(kiosk_id))
    return kiosk


async def list_kiosks(
    session: AsyncSession, params: PageParams, *, location_id: uuid.UUID | None = None
) -> tuple[list[Kiosk], int]:
    query = select(Kiosk).order_by(Kiosk.name, Kiosk.id)
    if location_id is not None:
        query = query.where(Kiosk.location_id == location_id)
    return await paginate(session, query, params)


def _issue_pairing_code(kiosk: Kiosk, *, now: datetime, settings: Settings) -> str:
    code = new_pairing_code()
    kiosk.pairing_code_hash = hash_token(code)
    kiosk.pairing_expires_at = now + timedelta(minutes=settings.kiosk_pairing_minutes)
    return code


async def create(
    session: AsyncSession, data: KioskCreate, *, actor: Actor, now: datetime, settings: Settings
) -> tuple[Kiosk, str]:
    """Enrol a kiosk: (kiosk, one-time pairing code shown once)."""
    location = await _location(session, data.location_id)
    kiosk = Kiosk(name=data.name, location=location)
    code = _issue_pairing_code(kiosk, now=now, settings=settings)
    session.add(kiosk)
    await session.flush()
    await audit.record(
        session, actor, "kiosk.create", "kiosk", kiosk.id, new=audit.snapshot(kiosk, AUDIT_FIELDS)
    )
    return kiosk, code


async def reissue_pairing_code(
    session: AsyncSession, kiosk: Kiosk, *, actor: Actor, now: datetime, settings: Settings
) -> str:
    """A new pairing code; the current device token stops working (re-pair, also after a
    revocation)."""
    old = audit.snapshot(kiosk, AUDIT_FIELDS)
    code = _issue_pairing_code(kiosk, now=now, settings=settings)
    kiosk.token_hash = None
    kiosk.paired_at = None
    kiosk.revoked_at = None
    await session.flush()
    before, after = audit.changed(old, audit.snapshot(kiosk, AUDIT_FIELDS))
    await audit.record(
        session, actor, "kiosk.pairing_code", "kiosk", kiosk.id, old=before, new=after
    )
    return code


async def pair(
    session: AsyncSession, pairing_code: str, *, app_version: str | None, now: datetime
) -> tuple[Kiosk, str]:
    """Exchange a pairing code for a device token: (kiosk, token shown once). Single use: the
    row lock makes a second, concurrent exchange of the same code find nothing."""
    code_hash = hash_token(normalize_pairing_code(pairing_code))
    kiosk = await session.scalar(
        select(Kiosk)
        .where(Kiosk.pairing_code_hash == code_hash)
        .with_for_update(of=Kiosk)
        .execution_options(populate_existing=True)
    )
    if kiosk is None or kiosk.revoked_at is not None:
        raise PairingCodeInvalid("Unknown or already used pairing code")
    if kiosk.pairing_expires_at is None or kiosk.pairing_expires_at <= now:
        raise PairingCodeExpired("This pairing code has expired; ask for a new one")
    token = new_token(32)
    kiosk.token_hash = hash_token(token)
    kiosk.pairing_code_hash = None
    kiosk.pairing_expires_at = None
    kiosk.paired_at = now
    kiosk.last_seen_at = now
    if app_version:
        kiosk.app_version = app_version
    await session.flush()
    actor = Actor(type="kiosk", id=kiosk.id, label=kiosk.name)
    await audit.record(session, actor, "kiosk.pair", "kiosk", kiosk.id, new={"paired_at": now})
    return kiosk, token


async def update(session: AsyncSession, kiosk: Kiosk, data: KioskUpdate, *, actor: Actor) -> Kiosk:
    old = audit.snapshot(kiosk, AUDIT_FIELDS)
    if data.name is not None:
        kiosk.name = data.name
    if data.location_id is not None and data.location_id != kiosk.location_id:
        kiosk.location = await _location(session, data.location_id)
    await session.flush()
    before, after = audit.changed(old, audit.snapshot(kiosk, AUDIT_FIELDS))
    if after:
        await audit.record(session, actor, "kiosk.update", "kiosk", kiosk.id, old=before, new=after)
    return kiosk


async def revoke(session: AsyncSession, kiosk: Kiosk, *, actor: Actor, now: datetime) -> Kiosk:
    """The device token stops working at once (401 KIOSK_REVOKED). Idempotent."""
    if kiosk.revoked_at is None:
        kiosk.revoked_at = now
        kiosk.pairing_code_hash = None
        kiosk.pairing_expires_at = None
        await session.flush()
        await audit.record(
            session, actor, "kiosk.revoke", "kiosk", kiosk.id, new={"revoked_at": now}
        )
    return kiosk


async def delete(session: AsyncSession, kiosk: Kiosk, *, actor: Actor) -> None:
    """Delete a kiosk that never scanned; one with scan history must be revoked instead
    (deleting it would delete its scan log)."""
    if await session.scalar(select(exists().where(ScanEvent.kiosk_id == kiosk.id))):
        raise KioskHasScans("This kiosk has scan history; revoke it instead")
    old = audit.snapshot(kiosk, AUDIT_FIELDS)
    await session.delete(kiosk)
    await session.flush()
    await audit.record(session, actor, "kiosk.delete", "kiosk", kiosk.id, old=old)
