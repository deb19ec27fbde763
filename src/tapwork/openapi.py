"""The OpenAPI document, with the error answers every operation can really give.

FastAPI documents only the success answer and its own 422 (in its own shape, not ours). The
middleware and the gates answer more, before any endpoint code runs, so they are added here
from what each operation declares: a request body can be too large (413) or of the wrong media
type (415); a gated operation refuses (401, 403); an id in the path can name nothing (404); a
write can conflict (409); every /api/v1 operation is rate limited (429) and needs the database
(503). Errors an endpoint raises itself beyond those (a wrong password is a 401 on an
operation without a gate, a used emailed token a 400) are listed in `RAISES`, by their
`AppError` classes, whose codes the description names. All of them in the one error envelope
(`Error`), so schema-driven clients and tools (schemathesis, generated SDKs) can trust the
document: tests/core/test_schemathesis.py checks every answer against it, as every persona.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tapwork.auth import errors as auth_errors
from tapwork.errors import AppError
from tapwork.kiosk import errors as kiosk_errors
from tapwork.notification import errors as notification_errors

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["VALIDATION_ERROR"]},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
_REF = {"$ref": "#/components/schemas/Error"}
_DESCRIPTIONS = {
    "400": "The link, token or code is invalid, used or expired",
    "401": "Not authenticated (missing, invalid or expired token)",
    "403": "Authenticated but not allowed",
    "404": "No such resource",
    "409": "Conflicts with the current state",
    "413": "Request body too large",
    "415": "Unsupported media type or charset (send application/json, UTF-8)",
    "422": "Invalid input (details.fields names each field)",
    "429": "Rate limited (Retry-After, X-RateLimit-*)",
    "503": "Temporarily unavailable (database); retry after Retry-After",
}
_WRITES = frozenset({"post", "put", "patch", "delete"})

_LINK = (auth_errors.InvalidToken,)
# (method, path) -> the errors its endpoint raises that the rules of `_statuses` do not imply.
RAISES: dict[tuple[str, str], tuple[type[AppError], ...]] = {
    ("post", "/api/v1/auth/login"): (
        auth_errors.InvalidCredentials,
        auth_errors.EmailNotVerified,
        auth_errors.AccountDisabled,
    ),
    ("post", "/api/v1/auth/refresh"): (
        auth_errors.InvalidRefreshToken,
        auth_errors.RefreshTokenReused,
    ),
    ("post", "/api/v1/auth/verify-email"): _LINK,
    ("post", "/api/v1/auth/password-reset/confirm"): _LINK,
    ("post", "/api/v1/auth/invitation"): _LINK,
    ("post", "/api/v1/auth/accept-invite"): _LINK,
    ("post", "/api/v1/kiosks/pair"): (
        kiosk_errors.PairingCodeInvalid,
        kiosk_errors.PairingCodeExpired,
    ),
    ("get", "/api/v1/notifications/unsubscribe"): (notification_errors.UnsubscribeLinkInvalid,),
}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[str]:
    if path == "/ready":
        return {"503"}
    statuses = {"422"}
    if path.startswith("/api/"):
        statuses |= {"429", "503"}
    if "requestBody" in operation:
        statuses |= {"413", "415"}
    if operation.get("security") or any(
        p.get("in") == "header" and p.get("name", "").lower() == "x-kiosk-token"
        for p in operation.get("parameters", [])
    ):
        statuses |= {"401", "403"}
    if "{" in path:
        statuses.add("404")
    if method in _WRITES:
        statuses |= {"404", "409"}
    statuses |= {str(error.status_code) for error in RAISES.get((method, path), ())}
    return statuses


def _codes(path: str, method: str, status: str) -> str:
    codes = [e.code for e in RAISES.get((method, path), ()) if str(e.status_code) == status]
    return f" ({', '.join(codes)})" if codes else ""


def add_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method not in (*_WRITES, "get"):
                continue
            if path == "/health":
                continue  # liveness answers 200 or not at all
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status in sorted(_statuses(path, method, operation)):
                mine = responses.get(status, {}).get("description")
                if mine in (None, "", "Validation Error"):  # FastAPI's generic 422 text
                    mine = _DESCRIPTIONS[status] + _codes(path, method, status)
                responses[status] = {
                    "description": mine,
                    "content": {"application/json": {"schema": _REF}},
                }
    schemas = document["components"]["schemas"]
    # FastAPI's own 422 shape is never sent: the handler renders every validation error as Error.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_error_responses(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
