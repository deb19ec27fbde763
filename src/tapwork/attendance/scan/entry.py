"""Entry: where a scan comes in, by either door, and goes to the group commit (`submit`).

`POST /api/v1/attendance` is the one endpoint every door hits; its own work (codec, rules, two
SQL statements) is ~0.05 ms of Python, while FastAPI's route matching (it is the last of ~130
routes), its dependency injection, the pydantic body model and the SQLAlchemy execution layer
cost several times that. So `ScanFastPath`, pure ASGI in front of FastAPI's router, takes the
requests it can answer exactly as the FastAPI route would (a kiosk token that passes
`kiosk.deps.plausible_token` and a JSON object body whose fields meet `ScanIn`'s limits) and
hands them to `submit` itself. Anything else (no token, malformed JSON, a wrong field, an
unusual content type or date format) is handed, body replayed, to the FastAPI route
(`attendance.router.scan`), which produces its usual 401/422 envelopes for what it refuses
and hands the rest to the same `submit`. Errors raised by the scan use the app's own
exception handlers. Sits inside `RequestMiddleware` (request id, body limit, rate-limit
headers, metrics) and CORS, so those apply unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tapwork.attendance.scan import group_commit
from tapwork.attendance.scan.request import Outcome, ScanRequest
from tapwork.attendance.schemas import MAX_CODE_DATA, MAX_SCAN_ID, ScanIn
from tapwork.auth import refusals
from tapwork.db import unit_of_work
from tapwork.kiosk.deps import plausible_token
from tapwork.kiosk.errors import KioskRevoked, KioskUnauthorized
from tapwork.kit.types import MAX_INSTANT, MIN_INSTANT

SCAN_PATH = "/api/v1/attendance"
_FIELDS = frozenset(ScanIn.model_fields)
# The plain RFC 3339 forms kiosks send; any other spelling pydantic may accept goes to FastAPI.
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")

Handler = Callable[[Request, Exception], Awaitable[Response]]


def _route_path(scope: Scope) -> str:
    """The path the router matches: behind a proxy prefix (`root_path`) the ASGI path
    includes it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= limit and "\x00" not in value:
        return value
    return None


def _captured_at(value: Any) -> datetime | bool | None:
    """The capture time, None when absent, False when FastAPI should judge it."""
    if value is None:
        return None
    if not isinstance(value, str) or _ISO.fullmatch(value) is None:
        return False
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return False
    # Outside `Instant`'s window the route answers 422.
    return at if MIN_INSTANT <= at < MAX_INSTANT else False


def parse(scope: Scope, body: bytes) -> ScanRequest | None:
    """The scan request if it is valid as the FastAPI route would see it, else None."""
    token = version = kiosk_time = content_type = None
    for name, value in scope["headers"]:
        if name == b"x-kiosk-token" and token is None:
            token = value.decode("latin-1")
        elif name == b"x-kiosk-version" and version is None:
            version = value.decode("latin-1")
        elif name == b"x-kiosk-time" and kiosk_time is None:
            kiosk_time = value.decode("latin-1")
        elif name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
    try:
        plausible_token(token)
    except KioskUnauthorized:
        return None  # the FastAPI route answers it
    assert token is not None
    if content_type is not None and content_type.split(";")[0].strip().lower() != (
        "application/json"
    ):
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.keys() <= _FIELDS:
        return None
    if "face_image" in data:  # the face step runs in the route (biometric/scan.py)
        return None
    code = _text(data.get("code_data"), MAX_CODE_DATA)
    scan_id = _text(data.get("client_scan_id"), MAX_SCAN_ID)
    captured_at = _captured_at(data.get("captured_at"))
    if code is None or scan_id is None or captured_at is False:
        return None
    app = scope["app"]
    client = scope.get("client")
    return ScanRequest(
        kiosk_token=token,
        kiosk_version=version,
        kiosk_time=kiosk_time,
        code_data=code,
        client_scan_id=scan_id,
        captured_at=captured_at if isinstance(captured_at, datetime) else None,
        now=app.state.clock(),
        ip=client[0] if client else None,
        request_id=scope.get("state", {}).get("request_id"),
    )


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _handler(app: Any, exc: Exception) -> Handler | None:
    """The app's handler for `exc` as Starlette's ExceptionMiddleware picks it; the catch-all
    `Exception` handler is left to ServerErrorMiddleware (500, logged), as for any route."""
    handlers: dict[Any, Handler] = app.exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None


async def submit(app: Any, req: ScanRequest) -> Outcome:
    """One scan, by either door: its answer once its batch has committed (the app's
    `group_commit.ScanBatcher`); kiosk errors are raised, an unknown or revoked kiosk token
    noted in the audit log first (bounded, `auth.refusals`)."""
    try:
        return await group_commit.for_app(app.state, app.state.settings).submit(req)
    except (KioskUnauthorized, KioskRevoked) as exc:
        reason = "revoked" if isinstance(exc, KioskRevoked) else "unknown"
        async with unit_of_work(app.state.sessionmaker) as session:
            await refusals.note(session, kind="kiosk", reason=reason, ip=req.ip,
                                request_id=req.request_id, now=req.now)  # fmt: skip
        raise


def send_headers(scope: Scope, outcome: Outcome) -> dict[str, str]:
    """The outcome's rate-limit headers handed to `RequestMiddleware` (which adds them, and
    X-Request-ID, to the response); returns the headers the response itself carries."""
    if not outcome.headers:
        return {}
    scope.setdefault("state", {})["ratelimit_headers"] = {
        k: v for k, v in outcome.headers.items() if k.startswith("X-RateLimit")
    }
    retry = outcome.headers.get("Retry-After")
    return {"Retry-After": retry} if retry is not None else {}


class ScanFastPath:
    def __init__(self, app: ASGIApp, route: Any) -> None:
        """`route`: the scan's route object, which FastAPI's router would put in the scope
        (the metrics label)."""
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or _route_path(scope) != SCAN_PATH:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return
        req = parse(scope, body)
        if req is None:
            await self.app(scope, _replay(body, receive), send)
            return
        app = scope["app"]
        scope["route"] = self.route
        try:
            outcome = await submit(app, req)
        except Exception as exc:
            handler = _handler(app, exc)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), exc)
            await response(scope, receive, send)
            return
        await self._send(scope, send, outcome)

    @staticmethod
    async def _send(scope: Scope, send: Send, outcome: Outcome) -> None:
        headers = [
            (b"content-length", str(len(outcome.body)).encode()),
            (b"content-type", b"application/json"),
        ]
        for name, value in send_headers(scope, outcome).items():
            headers.insert(0, (name.lower().encode(), value.encode()))
        await send({"type": "http.response.start", "status": outcome.http_status,
                    "headers": headers})  # fmt: skip
        await send({"type": "http.response.body", "body": outcome.body})
