"""One pure-ASGI middleware for every request: request id, body size limit, rate-limit headers
and Prometheus metrics. Pure ASGI (not BaseHTTPMiddleware) because it sits on the scan path."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("tapwork_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "tapwork_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def _too_large_body(limit: int) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": "PAYLOAD_TOO_LARGE",
                "message": f"Request body exceeds {limit} bytes",
                "details": {"max_bytes": limit},
            }
        }
    ).encode()


class _BodyTooLarge(Exception):
    pass


class RequestMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, large_body_paths: dict[str, int]
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Some endpoints (CSV import) accept more than the default.
        self.large_body_paths = large_body_paths

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
        limit = self._limit_for(scope["path"])
        declared = headers.get(b"content-length")
        status_holder = {"status": 500}

        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject_too_large(send, limit, request_id)
            self._observe(scope, 413, started)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        response_started = False

        async def wrapped_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                rate = state.get("ratelimit_headers")
                if rate:
                    extra.extend((k.lower().encode(), v.encode()) for k, v in rate.items())
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, limited_receive, wrapped_send)
        except _BodyTooLarge:
            if not response_started:
                await self._reject_too_large(send, limit, request_id)
            status_holder["status"] = 413
        except Exception:
            self._observe(scope, 500, started)
            raise
        self._observe(scope, status_holder["status"], started)

    @staticmethod
    async def _reject_too_large(send: Send, limit: int, request_id: str) -> None:
        body = _too_large_body(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _observe(scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        # Label by route template, never by raw path (ids would explode the cardinality).
        template = getattr(route, "path_format", None) or "unmatched"
        method = scope.get("method", "")
        REQUESTS.labels(method, template, str(status)).inc()
        LATENCY.labels(method, template).observe(time.perf_counter() - started)
