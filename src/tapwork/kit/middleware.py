"""One pure-ASGI middleware for every request: request id, body size and content-type checks,
security and rate-limit headers, Prometheus metrics and the access log line. Pure ASGI (not
BaseHTTPMiddleware) because it sits on the scan path."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tapwork.kit.logging import request_line
from tapwork.kit.metrics import method_label

# Probes hit these every few seconds per replica: logged at debug, not info.
_PROBES = frozenset({"/health", "/ready"})

REQUESTS = Counter("tapwork_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "tapwork_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


JSON = "application/json"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UTF8 = frozenset({"utf-8", "utf8"})

# Headers every answer carries. The API serves JSON only, so its policy allows nothing to load;
# the interactive docs pages (/docs, /redoc) load FastAPI's Swagger UI and ReDoc from a CDN and
# get no CSP (they are off in production unless API_DOCS says otherwise).
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
_DOC_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


def _error(code: str, message: str, details: dict[str, Any]) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()


class _BodyTooLarge(HTTPException):
    """Raised from `receive` when a body without Content-Length (chunked) passes the limit.
    An HTTPException, so that FastAPI's body parsing re-raises it as it is (any other exception
    there becomes a 400) and the app's handler answers 413 in the envelope."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body exceeds {limit} bytes")


def unsupported_media_type(
    content_type: bytes | None, has_body: bool, accepted: frozenset[str]
) -> str | None:
    """Why a request's body cannot be read (the 415 message), or None when it can: a body
    needs a Content-Type the route accepts, and text in any charset but UTF-8 is refused."""
    if not has_body:
        return None  # nothing to read, whatever the header says
    if content_type is None:
        return "A request body needs a Content-Type header"
    media, _, params = content_type.decode("latin-1").partition(";")
    media = media.strip().lower()
    if media not in accepted:
        wanted = ", ".join(sorted(accepted))
        return f"Content-Type {media or '(empty)'} is not accepted here; send {wanted}"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _UTF8:
            return "Only the UTF-8 charset is accepted"
    return None


_JSON_ONLY = frozenset({JSON})


def _too_large(limit: int) -> bytes:
    return _error("PAYLOAD_TOO_LARGE", f"Request body exceeds {limit} bytes", {"max_bytes": limit})


class RequestMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        large_body_paths: dict[str, int],
        log_requests: bool = True,
        metrics: bool = True,
        media_types: dict[str, frozenset[str]] | None = None,
        checked_prefix: str = "/api/",
    ) -> None:
        self.app = app
        self.log_requests = log_requests
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        # Some endpoints (CSV import) accept more than the default, or other media types.
        self.large_body_paths = large_body_paths
        self.media_types = media_types or {}
        self.checked_prefix = checked_prefix

    def _limit_for(self, path: str) -> int:
        return self.large_body_paths.get(path, self.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"")[:64].decode("latin-1")
        request_id = incoming if incoming.isprintable() and incoming else uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        # Every line logged while serving this request carries its id (ECS names); uvicorn runs
        # each request in its own task, so the binding ends with it.
        tokens = structlog.contextvars.bind_contextvars(
            **{"trace.id": request_id, "http.request.id": request_id}
        )
        limit = self._limit_for(scope["path"])
        declared = headers.get(b"content-length")
        status_holder = {"status": 500}

        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, request_id, 413, _too_large(limit))
            self._finish(scope, 413, started, tokens)
            return
        path: str = scope["path"]
        if scope["method"] in _BODY_METHODS and path.startswith(self.checked_prefix):
            has_body = (declared is not None and declared != b"0") or (
                b"transfer-encoding" in headers
            )
            why = unsupported_media_type(
                headers.get(b"content-type"), has_body, self.media_types.get(path, _JSON_ONLY)
            )
            if why is not None:
                body = _error("UNSUPPORTED_MEDIA_TYPE", why, {})
                await self._reject(send, request_id, 415, body)
                self._finish(scope, 415, started, tokens)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        response_started = False

        async def wrapped_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = message["status"]
                extra = [(b"x-request-id", request_id.encode()), *_SECURITY_HEADERS]
                if path not in _DOC_PATHS:
                    extra.append(_API_CSP)
                if scope.get("scheme") == "https":
                    extra.append(_HSTS)
                rate = state.get("ratelimit_headers")
                if rate:
                    extra.extend((k.lower().encode(), v.encode()) for k, v in rate.items())
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, limited_receive, wrapped_send)
        except _BodyTooLarge:
            if not response_started:
                await self._reject(send, request_id, 413, _too_large(limit))
            status_holder["status"] = 413
        except Exception:
            self._finish(scope, 500, started, tokens)
            raise
        self._finish(scope, status_holder["status"], started, tokens)

    def _finish(self, scope: Scope, status: int, started: float, tokens: Any) -> None:
        elapsed = time.perf_counter() - started
        if self.metrics:
            self._observe(scope, status, elapsed)
        if self.log_requests:
            path = scope.get("path", "")
            request_id = scope["state"]["request_id"]
            request_line(
                logging.DEBUG if path in _PROBES and status < 500 else logging.INFO,
                {
                    "http.request.method": scope.get("method", ""),
                    "url.path": path,
                    "http.response.status_code": status,
                    "event.duration": int(elapsed * 1e9),
                    "trace.id": request_id,
                    "http.request.id": request_id,
                },
            )
        structlog.contextvars.reset_contextvars(**tokens)

    @staticmethod
    async def _reject(send: Send, request_id: str, status: int, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    *_SECURITY_HEADERS,
                    _API_CSP,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _observe(scope: Scope, status: int, elapsed: float) -> None:
        key = (method_label(scope.get("method", "")), _route_template(scope), status)
        children = _CHILDREN.get(key)
        if children is None:
            # labels() costs a lock and string work per call: look each series up once.
            method, template, _ = key
            children = (
                REQUESTS.labels(method, template, str(status)),
                LATENCY.labels(method, template),
            )
            _CHILDREN[key] = children
        children[0].inc()
        children[1].observe(elapsed)


# (method, route, status) -> its counter and histogram. Bounded: every part is.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


# Route -> its full template. Bounded by the number of routes.
_TEMPLATES: dict[int, str] = {}


def _route_template(scope: Scope) -> str:
    """The matched route's full path template, never the raw path (ids would make a series
    each). FastAPI's route knows only its own part ("/users/{user_id}"); the router prefix in
    front of it ("/api/v1") is what the requested path has before that part."""
    route = scope.get("route")
    own = getattr(route, "path_format", None)
    if own is None:
        return "unmatched"
    known = _TEMPLATES.get(id(route))
    if known is not None:
        return known
    path: str = scope.get("path", "")
    params = scope.get("path_params") or {}
    try:
        rendered = own.format(**{k: str(v) for k, v in params.items()})
    except (KeyError, IndexError, ValueError):
        return str(own)
    if not path.endswith(rendered):
        return str(own)
    # Our router prefixes are constant ("/api/v1"), so this is the same for every request.
    template: str = path[: len(path) - len(rendered)] + own
    _TEMPLATES[id(route)] = template
    return template
