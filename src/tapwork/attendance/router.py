from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tapwork.attendance import scan as scan_engine
from tapwork.attendance.schemas import ScanIn, ScanResult
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now, client_ip
from tapwork.kiosk.deps import CurrentKiosk

router = APIRouter(prefix="/attendance", tags=["attendance"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    202: {"model": ScanResult, "description": "Offline scan held for HR review"},
    400: {"description": "INVALID_QR_CODE"},
    401: {"description": "KIOSK_UNAUTHORIZED / KIOSK_REVOKED"},
    403: {"description": "BADGE_REVOKED / BADGE_EXPIRED / BADGE_SUPERSEDED / USER_INACTIVE"},
    409: {"description": "DUPLICATE_SCAN / REST_PERIOD (details.available_at)"},
    422: {"description": "VALIDATION_ERROR / SCAN_ID_REUSED"},
    429: {"description": "RATE_LIMITED (per badge or per kiosk)"},
}


@router.post("", response_model=ScanResult, responses=_ERRORS)
async def scan(
    request: Request,
    body: ScanIn,
    kiosk: CurrentKiosk,
    session: DbSession,
    settings: AppSettings,
    now: Now,
) -> Response:
    """Record a badge scan: a check-in if the employee has no open record, else a check-out.

    Kiosks only (`X-Kiosk-Token`). `client_scan_id` makes the call idempotent: a retry with the
    same id returns the first answer (same status and body); the same id with another payload
    is 422 `SCAN_ID_REUSED`. Scans from the offline queue carry `captured_at`: within
    `OFFLINE_MAX_AGE_HOURS` (and at most a small skew in the future) they count at that time
    with source `offline`; otherwise they are kept for HR review and answered 202
    `{"action": "held", "reason": ...}`. Rejections use the error envelope with the codes
    listed below, and are recorded too.
    """
    outcome = await scan_engine.perform(
        session,
        scan_engine.ScanRequest(
            kiosk_id=kiosk.id,
            kiosk_name=kiosk.name,
            location_id=kiosk.location_id,
            code_data=body.code_data,
            client_scan_id=body.client_scan_id,
            captured_at=body.captured_at,
            now=now,
            ip=client_ip(request),
            request_id=getattr(request.state, "request_id", None),
        ),
        settings,
    )
    if outcome.headers:
        request.scope.setdefault("state", {})["ratelimit_headers"] = {
            k: v for k, v in outcome.headers.items() if k.startswith("X-RateLimit")
        }
    extra = (
        {"Retry-After": outcome.headers["Retry-After"]}
        if "Retry-After" in outcome.headers
        else None
    )
    return Response(
        outcome.body, status_code=outcome.http_status, media_type="application/json", headers=extra
    )
