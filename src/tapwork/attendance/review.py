"""HR review of held scans: offline ones too old, in the future or out of order, and live ones
that met a stale open record (a forgotten check-out).

A held scan never counts until approved. Approving applies it at its capture time with the
same rules as a live scan (check-in or check-out, status, mails, audit); if those rules refuse
it now (a later record exists, rest period...), the approval is refused with the reason and HR
corrects the day by hand instead.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.errors import ApplyRejected, NotPending, ScanNotFound
from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.attendance.scan import decision, settle, sql
from tapwork.audit import service as audit
from tapwork.config import Settings
from tapwork.errors import AppError
from tapwork.kiosk.models import Kiosk
from tapwork.kit.actor import Actor
from tapwork.user.models import User


async def queue(
    session: AsyncSession,
) -> tuple[list[tuple[ScanEvent, User | None, Kiosk]], list[tuple[AttendanceRecord, User]]]:
    """Held scans with their kiosk (whose location's zone their times are read in), oldest first."""
    held = (
        await session.execute(
            select(ScanEvent, User, Kiosk)
            .join(Kiosk, Kiosk.id == ScanEvent.kiosk_id)
            .outerjoin(User, User.id == ScanEvent.user_id)
            .where(ScanEvent.review_status == "pending")
            .order_by(ScanEvent.received_at)
        )
    ).all()
    flagged = (
        await session.execute(
            select(AttendanceRecord, User)
            .join(User, User.id == AttendanceRecord.user_id)
            .where(
                AttendanceRecord.missing_checkout_flagged_at.is_not(None),
                AttendanceRecord.check_out_at.is_(None),
            )
            .order_by(AttendanceRecord.check_in_at)
        )
    ).all()
    return [(e, u, k) for e, u, k in held], [(r, u) for r, u in flagged]


async def _pending(session: AsyncSession, scan_id: uuid.UUID) -> ScanEvent:
    event = await session.scalar(select(ScanEvent).where(ScanEvent.id == scan_id).with_for_update())
    if event is None:
        raise ScanNotFound("No such scan")
    if event.review_status != "pending":
        raise NotPending("This scan is not awaiting review", review_status=event.review_status)
    return event


async def approve(
    session: AsyncSession, scan_id: uuid.UUID, *, actor: Actor, settings: Settings, now: datetime
) -> dict[str, Any]:
    event = await _pending(session, scan_id)
    kiosk = await session.get(Kiosk, event.kiosk_id)
    if kiosk is None or event.badge_id is None:
        raise ApplyRejected("This scan cannot be applied: its kiosk or badge is gone")
    # Held live scans (a stale open record) count at the moment they were made.
    at = event.captured_at or event.received_at
    source = "offline" if event.captured_at else "online"
    conn = await sql.driver_connection(session)
    row = await sql.fetch_one(
        conn,
        sql.SUBJECT,
        {"badge_id": event.badge_id, "location_id": kiosk.location_id, "at": at},
    )
    if row is None or row["user_id"] is None:
        raise ApplyRejected("This scan cannot be applied: its employee is gone")
    try:
        plan = decision.decide(row, at, source, settings)
    except decision.Held as held:
        raise ApplyRejected(
            "A later record exists; correct the day instead", reason=held.reason
        ) from held
    except AppError as exc:
        raise ApplyRejected(f"The scan rules refuse it: {exc.message}", reason=exc.code) from exc
    writes = settle.applied(
        plan, row, now=now, location_id=kiosk.location_id, kiosk_id=kiosk.id,
        actor={"actor_id": actor.id, "actor_type": actor.type, "actor_label": actor.label,
               "ip": actor.ip, "request_id": actor.request_id},
    )  # fmt: skip
    params = {
        **writes.params(),
        "event_id": event.id, "reviewer_id": actor.id, "now": now, "result": plan.action,
    }  # fmt: skip
    if not await sql.execute(conn, sql.APPLY, params):
        raise ApplyRejected("Another scan changed this employee's record; retry")
    # The ORM copy was loaded before the raw UPDATE.
    await session.refresh(event)
    return settle.answer(plan, row)


async def reject(
    session: AsyncSession, scan_id: uuid.UUID, *, actor: Actor, now: datetime, note: str | None
) -> ScanEvent:
    event = await _pending(session, scan_id)
    event.review_status, event.reviewed_by, event.reviewed_at = "rejected", actor.id, now
    await audit.record(
        session, actor, "attendance.scan_rejected", "scan_event", event.id,
        old={"review_status": "pending"}, new={"review_status": "rejected", "note": note},
    )  # fmt: skip
    await session.flush()
    return event
