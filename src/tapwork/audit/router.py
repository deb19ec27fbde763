from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, StringConstraints

from tapwork.audit import service
from tapwork.audit.schemas import AuditRead
from tapwork.audit.service import AuditFilter
from tapwork.auth.deps import Principal, require
from tapwork.db import DbSession
from tapwork.errors import InvalidInput
from tapwork.kit.pagination import Page, Pagination
from tapwork.permissions import P

router = APIRouter(prefix="/audit", tags=["audit"])

# Same bound as the columns; the pattern also keeps NUL bytes out.
Key = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]


@router.get("/actions", response_model=list[str])
async def list_audit_actions(
    _: Annotated[Principal, require(P.AUDIT_READ)], session: DbSession
) -> list[str]:
    """Every action the log holds (e.g. `user.update`), sorted: the choices of the `action`
    filter, so nobody has to guess the spelling."""
    return await service.actions(session)


@router.get("", response_model=Page[AuditRead])
async def list_audit_entries(
    _: Annotated[Principal, require(P.AUDIT_READ)],
    session: DbSession,
    page: Pagination,
    actor_id: Annotated[uuid.UUID | None, Query(description="who acted")] = None,
    action: Annotated[Key | None, Query(description="e.g. department.update")] = None,
    resource_type: Annotated[Key | None, Query(description="e.g. department")] = None,
    resource_id: Annotated[Key | None, Query(description="id of the changed resource")] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="from this instant, inclusive (ISO 8601 + offset)")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="before this instant, exclusive")
    ] = None,
) -> Page[AuditRead]:
    """The audit log, newest first: who changed what, with the old and new values of the fields
    that changed. Entries stay when their actor is deleted."""
    if since and until and until <= since:
        raise InvalidInput("must be after since", field="query.until")
    filters = AuditFilter(
        actor_id=actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        since=since,
        until=until,
    )
    rows, total = await service.list_entries(session, page, filters)
    return Page(
        items=[AuditRead.model_validate(r) for r in rows],
        total=total,
        page=page.page,
        limit=page.limit,
    )
