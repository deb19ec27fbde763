"""The error hierarchy and the one envelope every error is rendered in.

`{"error": {"code": "UPPER_SNAKE", "message": "...", "details": {...}}}`
"""

from __future__ import annotations

from typing import Any, ClassVar

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger("tapwork.errors")


class AppError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message, self.details = message, details


class NotFound(AppError):
    status_code = 404
    code = "NOT_FOUND"


class Conflict(AppError):
    status_code = 409
    code = "CONFLICT"


class Unauthorized(AppError):
    status_code = 401
    code = "UNAUTHORIZED"

    def __init__(self, message: str = "Authentication required", **details: Any) -> None:
        super().__init__(message, **details)
        self.headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status_code = 403
    code = "FORBIDDEN"


class InvalidInput(AppError):
    """422. With `field` (e.g. "body.check_out_at", "query.status") the details have the shape
    of a schema validation error, `{"fields": [{"field", "message", "type"}]}`, so a client
    shows every input error next to the field it concerns with one piece of code."""

    status_code = 422
    code = "VALIDATION_ERROR"

    def __init__(
        self, message: str, *, field: str | None = None, type: str = "value_error", **details: Any
    ) -> None:
        if field is not None:
            details["fields"] = [{"field": field, "message": message, "type": type}]
            message = f"Invalid input: {field} ({message})"
        super().__init__(message, **details)


class PayloadTooLarge(AppError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"


class RateLimited(AppError):
    status_code = 429
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after_seconds=retry_after, **details)
        self.headers = {"Retry-After": str(retry_after)}
        if "limit" in details:
            # The refusing limit's own headers; they replace any a passed limiter noted.
            self.headers |= {
                "X-RateLimit-Limit": str(details["limit"]),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(retry_after),
            }


class DatabaseUnavailable(AppError):
    status_code = 503
    code = "DATABASE_UNAVAILABLE"


# How long a client is told to wait while the database is unreachable: a restart or failover
# takes seconds, and a shorter hint would only add load while it comes back.
DATABASE_RETRY_AFTER_SECONDS = 5


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def field_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic errors as `{"field": "body.email", "message": ..., "type": ...}` items."""
    out = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type")})
    return out


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    if isinstance(exc, RateLimited) and exc.headers and "X-RateLimit-Limit" in exc.headers:
        request.scope.get("state", {}).pop("ratelimit_headers", None)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = field_errors(exc.errors())
    names = ", ".join(f["field"] for f in fields) or "request"
    return JSONResponse(
        error_body("VALIDATION_ERROR", f"Invalid input: {names}", {"fields": fields}),
        status_code=422,
    )


_HTTP_CODES = {
    404: ("NOT_FOUND", "No such resource"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed on this resource"),
    413: ("PAYLOAD_TOO_LARGE", "Request body too large"),
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI turns a JSON body that is not UTF-8 into a bare 400; it is malformed JSON
        # (RFC 8259: JSON is UTF-8), answered like any other (`json_invalid`, 422).
        field = {"field": "body", "message": "Body is not valid UTF-8", "type": "json_invalid"}
        return JSONResponse(
            error_body("VALIDATION_ERROR", "Invalid input: body", {"fields": [field]}),
            status_code=422,
        )
    code, message = _HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", str(exc.detail)))
    if exc.status_code not in (404, 405) and isinstance(exc.detail, str):
        message = exc.detail
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # Safety net: schemas bound every value, so reaching here is a missing validator, not
    # the client's fault alone; still a 422 naming no internals, and logged loudly.
    log.error("database_rejected_value", request_id=_request_id(request), error=str(exc))
    return JSONResponse(
        error_body("VALIDATION_ERROR", "A value was rejected by the database", {}),
        status_code=422,
    )


def _is_outage(exc: Exception) -> bool:
    """The database cannot be reached (down, restarting, refusing connections, a connection
    lost mid-request, no pooled connection free): not the request's fault, not a bug."""
    if isinstance(exc, (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError)):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(
            exc, (OperationalError, InterfaceError)
        )
    return False


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not _is_outage(exc):
        return await _unhandled(request, exc)
    log.warning(
        "database_unavailable",
        request_id=_request_id(request),
        path=request.url.path,
        error=type(exc).__name__,
    )
    return JSONResponse(
        error_body(
            DatabaseUnavailable.code,
            "The database is unavailable; retry shortly",
            {"retry_after_seconds": DATABASE_RETRY_AFTER_SECONDS},
        ),
        status_code=DatabaseUnavailable.status_code,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    request_id = _request_id(request)
    log.exception("unhandled_error", request_id=request_id, path=request.url.path)
    return JSONResponse(
        error_body("INTERNAL_ERROR", "Internal server error", {"request_id": request_id}),
        status_code=500,
        # Sent by Starlette's outermost error middleware, so the id is added here.
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    # Database outages: 503 with Retry-After, never a 500 (the scan fast path looks these up
    # by the exception's class too, so it answers the same).
    for outage in (DBAPIError, PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError):
        app.add_exception_handler(outage, _database_error)
    app.add_exception_handler(Exception, _unhandled)
