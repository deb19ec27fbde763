from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate

REDACTED_FIELDS = frozenset({"password", "password_hash", "token_hash", "pairing_code_hash"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The named attributes of a model as JSON-ready values, secrets left out."""
    return {f: _jsonable(getattr(obj, f)) for f in fields if f not in REDACTED_FIELDS}


def changed(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose value differs, from both sides."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID | str | None,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit entry to the caller's transaction: it commits or rolls back with the change."""
    entry = AuditLog(
        actor_id=actor.id,
        actor_type=actor.type,
        actor_label=actor.label,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        old_values=_jsonable(old) if old is not None else None,
        new_values=_jsonable(new) if new is not None else None,
        ip=actor.ip,
        request_id=actor.request_id,
        # now() is the transaction's start, shared by every entry of a request; the wall clock
        # keeps entries of one transaction in the order they were made (newest-first lists).
        created_at=func.clock_timestamp(),
    )
    session.add(entry)
    return entry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_id: uuid.UUID | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


async def actions(session: AsyncSession) -> list[str]:
    """The distinct actions in the log (a skip scan over the action index)."""
    return list(await session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))


async def list_entries(
    session: AsyncSession, params: PageParams, filters: AuditFilter
) -> tuple[list[AuditLog], int]:
    """Newest first; each filter narrows (AND). Served by the actor, action, resource and
    created_at indexes."""
    query = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    if filters.actor_id is not None:
        query = query.where(AuditLog.actor_id == filters.actor_id)
    if filters.action is not None:
        query = query.where(AuditLog.action == filters.action)
    if filters.resource_type is not None:
        query = query.where(AuditLog.resource_type == filters.resource_type)
    if filters.resource_id is not None:
        query = query.where(AuditLog.resource_id == filters.resource_id)
    if filters.since is not None:
        query = query.where(AuditLog.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditLog.created_at < filters.until)
    return await paginate(session, query, params)
