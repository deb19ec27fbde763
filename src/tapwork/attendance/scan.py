"""The scan transaction: read (one statement), decide (pure, `decision.py`), write (one
statement).

Every attempt a kiosk makes is stored as a scan event with the answer it got, rejected ones
included, so a retry of the same client scan id replays that answer (same status, same JSON).
Only two answers are not stored, because a retry should get a fresh decision: 429 (rate
limited) and 422 SCAN_ID_REUSED (the id is already taken by another payload).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance import queries, rules
from tapwork.attendance.decision import (
    Held,
    Plan,
    check_holder,
    decide,
    scan_time,
)
from tapwork.attendance.errors import DuplicateScan, ScanIdReused
from tapwork.badge import codec
from tapwork.badge.errors import InvalidQrCode
from tapwork.config import Settings
from tapwork.errors import AppError, RateLimited, error_body
from tapwork.kiosk.deps import MAX_VERSION_LENGTH, SEEN_WRITE_INTERVAL, clock_offset_ms
from tapwork.kiosk.errors import KioskRevoked, KioskUnauthorized
from tapwork.kit.ratelimit import RateLimitState
from tapwork.kit.ratelimit import window_start as rl_window_start
from tapwork.kit.security import hash_token
from tapwork.notification.kinds import Kind

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ScanRequest:
    kiosk_token: str
    code_data: str
    client_scan_id: str
    captured_at: datetime | None
    now: datetime
    ip: str | None = None
    request_id: str | None = None
    kiosk_version: str | None = None
    kiosk_time: str | None = None


@dataclass(slots=True)
class Outcome:
    http_status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def payload_hash(code_data: str, captured_at: datetime | None) -> str:
    stamp = captured_at.isoformat() if captured_at else ""
    return hashlib.sha256(f"{code_data}\x1f{stamp}".encode()).hexdigest()


def display_name(row: dict[str, Any]) -> str:
    return f"{row['first_name']} {row['last_name']}"


def answer(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    out = plan.check_out
    return {
        "action": plan.action,
        "status": plan.status,
        "minutes_late": plan.minutes_late if plan.action == "check_in" else None,
        "worked_minutes": out.worked_minutes if out else None,
        "overtime_minutes": out.overtime_minutes if out else None,
        "early_leave_minutes": out.early_leave_minutes if out else None,
        "employee": {"id": row["user_id"], "display_name": display_name(row)},
        "at": plan.at,
        "location": row["location_name"],
        "record_id": plan.record_id,
        "source": plan.source,
        "work_date": plan.work_date,
    }


def _wants(prefs: dict[str, Any] | None, kind: Kind) -> bool:
    return bool((prefs or {}).get(kind.value, True))


def mails(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    """The outbox rows of an applied scan (contexts per CONTRACTS.md), as one jsonb param."""
    params = queries.empty_mail()
    at_local = plan.at.astimezone(ZoneInfo(row["timezone"])).strftime("%Y-%m-%d %H:%M")
    if _wants(row["user_prefs"], Kind.ATTENDANCE_CONFIRMATION):
        context: dict[str, Any] = {
            "first_name": row["first_name"],
            "full_name": display_name(row),
            "action": plan.action,
            "at_local": at_local,
            "location": row["location_name"],
            "status": plan.status,
        }
        if plan.check_out is not None:
            context["worked_minutes"] = plan.check_out.worked_minutes
            context["overtime_minutes"] = plan.check_out.overtime_minutes
        elif plan.minutes_late:
            context["minutes_late"] = plan.minutes_late
        queries.add_mail(
            params, Kind.ATTENDANCE_CONFIRMATION.value, row["email"], row["user_id"], context
        )
    if (
        plan.action == "check_in"
        and plan.status == rules.Status.LATE
        and row["manager_id"] is not None
        and row["manager_active"]
        and row["manager_id"] != row["user_id"]
        and _wants(row["manager_prefs"], Kind.LATE_ALERT)
    ):
        context = {
            "first_name": row["manager_first_name"],
            "full_name": f"{row['manager_first_name']} {row['manager_last_name']}",
            "employee_name": display_name(row),
            "at_local": at_local,
            "minutes_late": plan.minutes_late,
            "location": row["location_name"],
            "department": row["department_name"],
        }
        queries.add_mail(
            params, Kind.LATE_ALERT.value, row["manager_email"], row["manager_id"], context
        )
    return {"mails": dumps(params["mails"])}


def write_params(plan: Plan, row: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    """Parameters of WRITE_CHECK_IN / WRITE_CHECK_OUT (and their APPLY_ variants)."""
    out = plan.check_out
    audit: dict[str, Any] = {
        "user_id": row["user_id"],
        "work_date": plan.work_date,
        "status": plan.status,
        "source": plan.source,
    }
    if out is None:
        audit.update(check_in_at=plan.at, minutes_late=plan.minutes_late)
    else:
        audit.update(
            check_out_at=plan.at,
            worked_minutes=out.worked_minutes,
            overtime_minutes=out.overtime_minutes,
            early_leave_minutes=out.early_leave_minutes,
        )
    return {
        "record_id": plan.record_id,
        "user_id": row["user_id"],
        "shift_id": row["shift_id"],
        "work_date": plan.work_date,
        "at": plan.at,
        "status": plan.status,
        "minutes_late": plan.minutes_late,
        "source": plan.source,
        "worked_minutes": out.worked_minutes if out else None,
        "overtime_minutes": out.overtime_minutes if out else None,
        "early_leave_minutes": out.early_leave_minutes if out else None,
        "result": plan.action,
        "action": f"attendance.{plan.action}",
        "audit": dumps(audit),
        **actor,
        **mails(plan, row),
    }


def _error(exc: AppError) -> tuple[int, dict[str, Any]]:
    return exc.status_code, error_body(exc.code, exc.message, exc.details)


def _envelope(status: int, body: Any) -> str:
    return dumps({"http_status": status, "body": body})


async def perform(session: AsyncSession, req: ScanRequest, settings: Settings) -> Outcome:
    """Run one scan in the session's transaction (the caller commits)."""
    try:
        return await _perform(await queries.driver_connection(session), req, settings)
    except UniqueViolation:
        # The same (kiosk, scan id) committed by a concurrent retry: answer as it did.
        await session.rollback()
        return await _perform(await queries.driver_connection(session), req, settings)


async def perform_on(conn: AsyncConnection[Any], req: ScanRequest, settings: Settings) -> Outcome:
    """The same on a bare (idle) driver connection outside any session, in one transaction
    committed before it returns.

    The scan sends BEGIN and COMMIT itself, BEGIN in the READ's flight and COMMIT in the
    WRITE's: a check-in or check-out is 2 round trips. psycopg would send its implicit BEGIN
    in a flight of its own, so the connection is in autocommit mode (the explicit BEGIN then
    makes the statements one transaction) until it goes back to the pool."""
    await conn.set_autocommit(True)
    try:
        try:
            outcome = await _perform(conn, req, settings, own=True)
        except UniqueViolation:
            await conn.rollback()
            outcome = await _perform(conn, req, settings, own=True)
        await conn.commit()  # a no-op when the write already committed
        return outcome
    finally:
        if not conn.broken:
            await conn.rollback()  # a no-op unless something above raised mid-transaction
            await conn.set_autocommit(False)


async def _perform(
    conn: AsyncConnection[Any], req: ScanRequest, settings: Settings, *, own: bool = False
) -> Outcome:
    """`own`: the connection is in autocommit mode and the scan sends BEGIN and COMMIT."""
    ring = codec.keyring_for(settings.badge_secret.get_secret_value())
    invalid: InvalidQrCode | None = None
    badge_id: uuid.UUID | None = None
    try:
        badge_id = codec.verify(req.code_data, ring)
    except InvalidQrCode as exc:
        invalid = exc
    now = req.now
    start = rl_window_start(now, WINDOW)
    digest = payload_hash(req.code_data, req.captured_at)
    row = await queries.fetch_one(
        conn,
        queries.READ,
        {
            "token_hash": hash_token(req.kiosk_token),
            "scan_id": req.client_scan_id,
            "window_start": start,
            "window_end": start + WINDOW,
            "badge_key": f"scan:badge:{badge_id}" if badge_id else None,
            "badge_id": badge_id,
            "at": req.captured_at or now,
        },
        begin=own,
    )
    if row is None:
        raise KioskUnauthorized()
    if row["kiosk_revoked_at"] is not None:
        raise KioskRevoked()
    telemetry = _telemetry(row, req)
    if row["prior_hash"] is not None:
        await _touch_alone(conn, telemetry)
        if row["prior_hash"] != digest:
            status, body = _error(ScanIdReused("This scan id was already used for another scan"))
            return Outcome(status, orjson.dumps(body))
        return Outcome(row["prior_status"], row["prior_body"].encode())

    headers, limited = _rate_limit(row, settings, now, start)
    if limited is not None:
        await _touch_alone(conn, telemetry)
        return limited
    outcome = await _apply(conn, req, row, digest, invalid, telemetry, settings, own)
    outcome.headers = headers
    return outcome


def _telemetry(row: dict[str, Any], req: ScanRequest) -> dict[str, Any]:
    """Kiosk last-seen / version / clock offset, written at most every SEEN_WRITE_INTERVAL
    (as `kiosk.deps` does) and folded into the scan's write statement."""
    version = (req.kiosk_version or "").strip()[:MAX_VERSION_LENGTH] or None
    if version is not None and "\x00" in version:
        version = None
    last_seen = row["kiosk_last_seen_at"]
    touch = (
        last_seen is None
        or req.now - last_seen >= SEEN_WRITE_INTERVAL
        or (version is not None and version != row["kiosk_app_version"])
    )
    return {
        "kiosk_id": row["kiosk_id"],
        "touch_kiosk": touch,
        "app_version": version,
        "clock_offset_ms": clock_offset_ms(req.kiosk_time, req.now) if touch else None,
        "now": req.now,
    }


async def _touch_alone(conn: AsyncConnection[Any], telemetry: dict[str, Any]) -> None:
    if telemetry["touch_kiosk"]:
        await queries.execute(conn, queries.TOUCH_KIOSK, telemetry)


async def _apply(
    conn: AsyncConnection[Any],
    req: ScanRequest,
    row: dict[str, Any],
    digest: str,
    invalid: InvalidQrCode | None,
    telemetry: dict[str, Any],
    settings: Settings,
    commit: bool,
) -> Outcome:
    now = req.now
    event: dict[str, Any] = {
        **telemetry,
        "event_id": uuid.uuid4(),
        "scan_id": req.client_scan_id,
        "payload_hash": digest,
        "code_data": req.code_data,
        "user_id": row["user_id"],
        "badge_id": row["badge_id"],
        "captured_at": req.captured_at,
        "now": now,
    }
    try:
        if invalid is not None:
            raise invalid
        if row["badge_code"] != req.code_data:
            raise InvalidQrCode(reason="unknown_badge")
        check_holder(row, now)
        source = "offline" if req.captured_at is not None else "online"
        plan = decide(row, scan_time(req.captured_at, now, settings), source, settings)
    except Held as held:
        body = {
            "action": "held",
            "reason": held.reason,
            "employee": {"id": row["user_id"], "display_name": display_name(row)},
            "at": req.captured_at or now,
            "location": row["location_name"],
        }
        await queries.execute(
            conn,
            queries.WRITE_EVENT,
            {**event, "result": "held", "error_code": held.reason,
             "response": _envelope(202, body), "review_status": "pending"},
            commit=commit,
        )  # fmt: skip
        return Outcome(202, orjson.dumps(body))
    except AppError as exc:
        status, body = _error(exc)
        result = "duplicate" if isinstance(exc, DuplicateScan) else "rejected"
        await queries.execute(
            conn,
            queries.WRITE_EVENT,
            {**event, "result": result, "error_code": exc.code,
             "response": _envelope(status, body), "review_status": None},
            commit=commit,
        )  # fmt: skip
        return Outcome(status, orjson.dumps(body))

    ok = answer(plan, row)
    lost_status, lost = _error(DuplicateScan("Another scan of this badge was just recorded"))
    actor = {
        "actor_id": row["kiosk_id"],
        "actor_type": "kiosk",
        "actor_label": row["kiosk_name"],
        "ip": req.ip,
        "request_id": req.request_id,
    }
    params = write_params(plan, row, actor)
    params.update(
        event,
        location_id=row["location_id"],
        response=_envelope(200, ok),
        lost_response=_envelope(lost_status, lost),
    )
    sql = queries.WRITE_CHECK_IN if plan.action == "check_in" else queries.WRITE_CHECK_OUT
    applied = await queries.execute(conn, sql, params, commit=commit)
    if not applied:
        return Outcome(lost_status, orjson.dumps(lost))
    return Outcome(200, orjson.dumps(ok))


def _rate_limit(
    row: dict[str, Any], settings: Settings, now: datetime, start: datetime
) -> tuple[dict[str, str], Outcome | None]:
    checks = [(row["kiosk_hits"], settings.rate_limit_scan_per_kiosk_per_minute, "kiosk")]
    if row["badge_hits"] is not None:
        checks.append((row["badge_hits"], settings.rate_limit_scan_per_badge_per_minute, "badge"))
    worst: tuple[RateLimitState, str] | None = None
    for hits, limit, scope in checks:
        state = RateLimitState(
            limit=limit, remaining=max(0, limit - hits), reset_at=start + WINDOW,
            exceeded=hits > limit,
        )  # fmt: skip
        if worst is None or state.remaining < worst[0].remaining or state.exceeded:
            worst = (state, scope)
    assert worst is not None
    state, scope = worst
    headers = state.headers(now)
    if not state.exceeded:
        return headers, None
    retry = max(1, int((state.reset_at - now).total_seconds()))
    status, body = _error(
        RateLimited(f"Too many scans for this {scope}; retry shortly", retry_after=retry)
    )
    return headers, Outcome(status, orjson.dumps(body), {**headers, "Retry-After": str(retry)})
