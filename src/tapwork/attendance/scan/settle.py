"""Settle: one scan decided against its READ row (pure; no I/O), into its answer and the rows
the batch's WRITE stores (`transaction.py` runs the SQL; `decision.py` applies the rules).

Every attempt a kiosk makes is stored as a scan event with the answer it got, rejected ones
included, so a retry of the same client scan id replays that answer (same status, same JSON).
Only two answers are not stored, because a retry should get a fresh decision: 429 (rate
limited) and 422 SCAN_ID_REUSED (the id is already taken by another payload).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from tapwork.attendance import rules
from tapwork.attendance.errors import DuplicateScan, ScanIdReused
from tapwork.attendance.scan.decision import Held, Plan, check_holder, decide, scan_time
from tapwork.attendance.scan.request import (
    LOST_BODY,
    LOST_RESPONSE,
    WINDOW,
    Item,
    Outcome,
    ScanRequest,
    dumps,
    envelope,
    error_response,
)
from tapwork.config import Settings
from tapwork.errors import AppError, RateLimited
from tapwork.kiosk import telemetry
from tapwork.kiosk.errors import KioskRevoked, KioskUnauthorized
from tapwork.kit.ratelimit import RateLimitState
from tapwork.notification import kinds
from tapwork.notification.kinds import Kind


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


def _mail(kind: Kind, to: str, user_id: uuid.UUID, context: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind.value, "to": to, "user_id": user_id, "context": context}


def mails(plan: Plan, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The outbox rows of an applied scan (kind, to, user_id, context)."""
    rows: list[dict[str, Any]] = []
    at_local = plan.at.astimezone(ZoneInfo(row["timezone"])).strftime("%Y-%m-%d %H:%M")
    # Under `daily_digest` the day's records go out in one mail (attendance/digest.py).
    per_scan = row.get("confirmations") != "daily_digest"
    if per_scan and kinds.wants(row["user_prefs"], Kind.ATTENDANCE_CONFIRMATION):
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
        rows.append(_mail(Kind.ATTENDANCE_CONFIRMATION, row["email"], row["user_id"], context))
    if (
        plan.action == "check_in"
        and plan.status == rules.Status.LATE
        and row["manager_id"] is not None
        and row["manager_active"]
        and row["manager_id"] != row["user_id"]
        and kinds.wants(row["manager_prefs"], Kind.LATE_ALERT)
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
        rows.append(_mail(Kind.LATE_ALERT, row["manager_email"], row["manager_id"], context))
    return rows


def audit_values(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    """The audit entry's new values for an applied scan."""
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
    return audit


@dataclass(slots=True)
class Applied:
    """The rows an applied scan writes, as the WRITE's and `sql.APPLY`'s jsonb arrays take
    them: the record insert or the check-out update, its audit entry and its mails."""

    check_in: dict[str, Any] | None
    check_out: dict[str, Any] | None
    audit: dict[str, Any]
    mails: list[dict[str, Any]]

    def params(self) -> dict[str, str]:
        """As `sql.APPLY`'s parameters (HR approving a held scan)."""
        return {
            "check_ins": dumps([self.check_in] if self.check_in else []),
            "check_outs": dumps([self.check_out] if self.check_out else []),
            "audits": dumps([self.audit]),
            "mails": dumps(self.mails),
        }


def applied(
    plan: Plan,
    row: dict[str, Any],
    *,
    now: datetime,
    location_id: uuid.UUID,
    kiosk_id: uuid.UUID,
    actor: dict[str, Any],
) -> Applied:
    """The rows of `plan` applied at `now` (a kiosk's scan, or HR approving a held one);
    `actor`: the audit entry's actor_id, actor_type, actor_label, ip and request_id."""
    out = plan.check_out
    record: dict[str, Any] = {"record_id": plan.record_id, "at": plan.at, "now": now}
    if out is None:
        record.update(
            user_id=row["user_id"], shift_id=row["shift_id"], location_id=location_id,
            kiosk_id=kiosk_id, work_date=plan.work_date, status=plan.status,
            minutes_late=plan.minutes_late, source=plan.source,
        )  # fmt: skip
    else:
        record.update(
            worked_minutes=out.worked_minutes, overtime_minutes=out.overtime_minutes,
            early_leave_minutes=out.early_leave_minutes,
        )  # fmt: skip
    audit = {
        "record_id": plan.record_id,
        **actor,
        "action": f"attendance.{plan.action}",
        "new_values": audit_values(plan, row),
        "now": now,
    }
    return Applied(
        check_in=record if out is None else None,
        check_out=record if out is not None else None,
        audit=audit,
        mails=[{**mail, "record_id": plan.record_id, "now": now} for mail in mails(plan, row)],
    )


@dataclass(slots=True)
class Settled:
    """One scan's share of the batch: its answer, or the error to raise for it, and the rows
    to write. `record_id` is set when the answer depends on the record write applying (the
    partial unique index or the open check-out decides); `lost` is the answer otherwise."""

    outcome: Outcome | None = None
    error: AppError | None = None
    touch: dict[str, Any] | None = None
    event: dict[str, Any] | None = None
    check_in: dict[str, Any] | None = None
    check_out: dict[str, Any] | None = None
    audit: dict[str, Any] | None = None
    mails: list[dict[str, Any]] = field(default_factory=list)
    record_id: uuid.UUID | None = None
    lost: Outcome | None = None


def settle(
    item: Item,
    row: dict[str, Any],
    hits: tuple[int | None, int | None],
    settings: Settings,
) -> Settled:
    """Decide one scan from its READ row; `hits` are this scan's own counts (kiosk, badge) in
    the rate-limit windows."""
    req = item.req
    if row["kiosk_id"] is None:
        return Settled(error=KioskUnauthorized())
    if row["kiosk_revoked_at"] is not None:
        return Settled(error=KioskRevoked())
    touch = _telemetry(row, req)
    if row["prior_hash"] is not None:
        if row["prior_hash"] != item.digest:
            status, body = error_response(
                ScanIdReused("This scan id was already used for another scan")
            )
            return Settled(Outcome(status, orjson.dumps(body)), touch=touch)
        return Settled(Outcome(row["prior_status"], row["prior_body"].encode()), touch=touch)
    headers, limited = _rate_limit(hits, settings, req.now, item.window_start)
    if limited is not None:
        return Settled(limited, touch=touch)
    settled = _apply(item, row, settings)
    settled.touch = touch
    for outcome in (settled.outcome, settled.lost):
        if outcome is not None:
            outcome.headers = headers
    return settled


def _telemetry(row: dict[str, Any], req: ScanRequest) -> dict[str, Any] | None:
    """The kiosk's telemetry when due (`kiosk.telemetry`), written with the batch's WRITE."""
    seen = telemetry.due(
        row["kiosk_last_seen_at"], row["kiosk_app_version"],
        now=req.now, version=req.kiosk_version, kiosk_time=req.kiosk_time,
    )  # fmt: skip
    if seen is None:
        return None
    return {
        "kiosk_id": row["kiosk_id"],
        "now": seen.now,
        "app_version": seen.app_version,
        "clock_offset_ms": seen.clock_offset_ms,
    }


def _apply(item: Item, row: dict[str, Any], settings: Settings) -> Settled:
    req = item.req
    now = req.now
    event: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "kiosk_id": row["kiosk_id"],
        "scan_id": req.client_scan_id,
        "payload_hash": item.digest,
        "code_data": req.code_data,
        "user_id": row["user_id"],
        "badge_id": row["badge_id"],
        "record_id": None,
        "captured_at": req.captured_at,
        "now": now,
        "error_code": None,
        "review_status": None,
    }
    try:
        if item.invalid is not None:
            raise item.invalid
        check_holder(row, req.code_data, now)
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
        event.update(result="held", error_code=held.reason, response=envelope(202, body),
                     review_status="pending")  # fmt: skip
        return Settled(Outcome(202, orjson.dumps(body)), event=event)
    except AppError as exc:
        status, body = error_response(exc)
        result = "duplicate" if isinstance(exc, DuplicateScan) else "rejected"
        event.update(result=result, error_code=exc.code, response=envelope(status, body))
        return Settled(Outcome(status, orjson.dumps(body)), event=event)

    ok = answer(plan, row)
    event.update(
        record_id=plan.record_id,
        result=plan.action,
        response=envelope(200, ok),
    )
    writes = applied(
        plan, row, now=now, location_id=row["location_id"], kiosk_id=row["kiosk_id"],
        actor={"actor_id": row["kiosk_id"], "actor_type": "kiosk",
               "actor_label": row["kiosk_name"], "ip": req.ip, "request_id": req.request_id},
    )  # fmt: skip
    return Settled(
        Outcome(200, orjson.dumps(ok)),
        event=event,
        check_in=writes.check_in,
        check_out=writes.check_out,
        audit=writes.audit,
        mails=writes.mails,
        record_id=plan.record_id,
        lost=Outcome(LOST_RESPONSE["http_status"], LOST_BODY),
    )


def _rate_limit(
    hits: tuple[int | None, int | None], settings: Settings, now: datetime, start: datetime
) -> tuple[dict[str, str], Outcome | None]:
    kiosk_hits, badge_hits = hits
    checks = [(kiosk_hits or 0, settings.rate_limit_scan_per_kiosk_per_minute, "kiosk")]
    if badge_hits is not None:
        checks.append((badge_hits, settings.rate_limit_scan_per_badge_per_minute, "badge"))
    worst: tuple[RateLimitState, str] | None = None
    for count, limit, scope in checks:
        state = RateLimitState(
            limit=limit, remaining=max(0, limit - count), reset_at=start + WINDOW,
            exceeded=count > limit,
        )  # fmt: skip
        if worst is None or state.remaining < worst[0].remaining or state.exceeded:
            worst = (state, scope)
    assert worst is not None
    state, scope = worst
    headers = state.headers(now)
    if not state.exceeded:
        return headers, None
    retry = max(1, int((state.reset_at - now).total_seconds()))
    status, body = error_response(
        RateLimited(f"Too many scans for this {scope}; retry shortly", retry_after=retry)
    )
    return headers, Outcome(status, orjson.dumps(body), {**headers, "Retry-After": str(retry)})
