"""A scan request and its answer, the types every stage of the pipeline shares (the lowest
module of `attendance.scan`): `prepare` turns a request into the `Item` the READ needs (code
verified, keys computed); an `Outcome` is the status, body and headers sent back.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from tapwork.attendance.errors import DuplicateScan
from tapwork.badge import codec, keys
from tapwork.badge.errors import InvalidQrCode
from tapwork.config import Settings
from tapwork.errors import AppError, error_body
from tapwork.kit.ratelimit import window_start as rl_window_start
from tapwork.kit.security import hash_token

# The rate-limit window of both scan limits (per kiosk, per badge).
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


def error_response(exc: AppError) -> tuple[int, dict[str, Any]]:
    return exc.status_code, error_body(exc.code, exc.message, exc.details)


def envelope(status: int, body: Any) -> dict[str, Any]:
    return {"http_status": status, "body": body}


# The answer of a scan whose record write lost a race in the database (the same for all; the
# WRITE stores it for such a scan's event, `sql.WRITE_MANY`).
LOST_RESPONSE = envelope(
    *error_response(DuplicateScan("Another scan of this badge was just recorded"))
)
LOST_BODY = orjson.dumps(LOST_RESPONSE["body"])


@dataclass(frozen=True, slots=True)
class Item:
    """A scan request with what its READ needs: the verified badge id (or why the code is
    invalid), the payload digest, the token hash and its rate-limit window."""

    req: ScanRequest
    badge_id: uuid.UUID | None
    invalid: InvalidQrCode | None
    digest: str
    token_hash: str
    window_start: datetime


def prepare(req: ScanRequest, settings: Settings) -> Item:
    ring = keys.keyring(settings)
    badge_id: uuid.UUID | None = None
    invalid: InvalidQrCode | None = None
    try:
        badge_id = codec.verify(req.code_data, ring)
    except InvalidQrCode as exc:
        invalid = exc
    return Item(
        req=req,
        badge_id=badge_id,
        invalid=invalid,
        digest=payload_hash(req.code_data, req.captured_at),
        token_hash=hash_token(req.kiosk_token),
        window_start=rl_window_start(req.now, WINDOW),
    )
