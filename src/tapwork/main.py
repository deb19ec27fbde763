"""create_app(settings): lifespan, middleware, routers, error handlers — nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tapwork import __version__, openapi
from tapwork.api import build_api_router
from tapwork.apidocs import install_api_docs
from tapwork.attendance.router import SCAN_ROUTE
from tapwork.attendance.scan.entry import ScanFastPath
from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker
from tapwork.errors import install_error_handlers
from tapwork.health import router as health_router
from tapwork.kit.clock import utcnow
from tapwork.kit.lifecycle import install_drain_on_sigterm
from tapwork.kit.logging import configure_logging
from tapwork.kit.metrics import instrument_pool, process_exited
from tapwork.kit.middleware import RequestMiddleware
from tapwork.kit.security import PasswordHasher
from tapwork.notification.router import ONE_CLICK_MEDIA_TYPES
from tapwork.user.accounts import ACCOUNT_HOOKS
from tapwork.user.router import IMPORT_MEDIA_TYPES

IMPORT_PATH = "/api/v1/users/import"
UNSUBSCRIBE_PATH = "/api/v1/notifications/unsubscribe"

API_DESCRIPTION = """
TAPWORK records employee attendance from signed badges scanned at kiosks.

Authenticate with `POST /api/v1/auth/login`, then send `Authorization: Bearer <access token>`.
Kiosks authenticate with their device token. Every error has the shape
`{"error": {"code": "...", "message": "...", "details": {...}}}`.
"""


def create_app(
    settings: Settings | None = None, *, clock: Callable[[], datetime] = utcnow
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, json=settings.log_json, service="tapwork-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Tests install their own sessionmaker bound to a rolled-back connection.
        own_engine = not hasattr(app.state, "sessionmaker")
        if own_engine:
            app.state.engine = create_engine(settings)
            app.state.sessionmaker = create_sessionmaker(app.state.engine)
            instrument_pool(app.state.engine, "api")
            # Only a real server (it owns the engine) drains on SIGTERM; not tests' in-process apps.
            install_drain_on_sigterm(settings.shutdown_drain_seconds or 0.0)
        try:
            yield
        finally:
            # Scans in flight finish (and answer) before their connections go.
            batcher = getattr(app.state, "scan_batcher", None)
            if batcher is not None:
                await batcher.close()
            if own_engine:
                await app.state.engine.dispose()
            process_exited()

    app = FastAPI(
        title="TAPWORK API",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # Our own /docs and /redoc (apidocs.py): FastAPI's load their assets from a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.clock = clock
    # auth's account rules that belong to the domains above it (tapwork/auth/hooks.py).
    app.state.account_hooks = ACCOUNT_HOOKS
    app.state.hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
    )
    install_error_handlers(app)
    openapi.install(app)
    if settings.docs_enabled:
        install_api_docs(app)
    app.include_router(health_router)
    app.include_router(build_api_router())
    # Innermost: the kiosk scan skips FastAPI's routing and DI (see attendance/scan/entry.py).
    app.add_middleware(ScanFastPath, route=SCAN_ROUTE)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "X-Request-ID",
            "X-Kiosk-Token",
            "X-Kiosk-Version",
            "X-Kiosk-Time",
            "X-Kiosk-Queue",
        ],
        expose_headers=[
            "X-Request-ID",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
        # Browsers cache a preflight at most 2 h (Chromium's cap); the default 10 min made a
        # kiosk's first scan after a quiet spell pay an extra round trip.
        max_age=7200,
    )
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        large_body_paths={IMPORT_PATH: settings.max_import_bytes},
        media_types={IMPORT_PATH: IMPORT_MEDIA_TYPES, UNSUBSCRIBE_PATH: ONE_CLICK_MEDIA_TYPES},
        log_requests=settings.log_requests,
        # METRICS_PORT=0: nothing serves them, so nothing counts them.
        metrics=settings.metrics_port != 0,
    )
    return app
