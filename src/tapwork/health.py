"""Liveness and readiness (outside /api/v1, as the probes expect). Prometheus metrics are not
here: they are served on their own port (`METRICS_PORT`, tapwork/kit/metrics.py), which no
ingress exposes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from tapwork.errors import AppError
from tapwork.kit.lifecycle import draining
from tapwork.migration.revisions import head_revision, known_revisions

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    expected_revision: str


class NotReady(AppError):
    status_code = 503
    code = "NOT_READY"


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process answers. Does not touch the database."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness)
async def ready(request: Request) -> Readiness:
    """Readiness: the process is not shutting down, the database answers and its schema is at
    the revision this code expects."""
    if draining():
        raise NotReady("Shutting down", state="draining")
    expected = head_revision()
    try:
        async with request.app.state.sessionmaker() as session:
            current = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:
        raise NotReady("Database unreachable", database="unreachable") from exc
    # A revision this release does not ship was written by a newer release's migration Job.
    # Migrations between consecutive releases only add (docs/runbook.md, "Upgrade"), so during a
    # rolling update the old pods keep serving instead of all leaving the Service at once.
    if current != expected and (current is None or current in known_revisions()):
        raise NotReady(
            "Database schema is not at head; run `tapwork migrate`",
            schema_revision=current,
            expected_revision=expected,
        )
    return Readiness(
        status="ok", database="ok", schema_revision=current, expected_revision=expected
    )
