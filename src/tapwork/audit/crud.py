"""Write one row and its audit entry, the same way in every organisation domain.

A create, update or delete of a department, location, shift, holiday or role is: let the
database decide the races (constraint_errors maps the violated constraint to the domain's
error), then record what changed in the same transaction. The domain services keep their
own rules (name clashes, managers, rows still in use) and call these for the write itself.
Audit actions stay spelled out by the caller ("department.update"), so they can be grepped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.service import changed, record, snapshot
from tapwork.db import UUIDPk
from tapwork.errors import AppError
from tapwork.kit.actor import Actor
from tapwork.kit.integrity import constraint_errors

Row = TypeVar("Row", bound=UUIDPk)
ConstraintErrors = Mapping[str, Callable[[], AppError]]


async def create(
    session: AsyncSession,
    actor: Actor,
    action: str,
    resource_type: str,
    row: Row,
    *,
    fields: tuple[str, ...],
    errors: ConstraintErrors,
) -> Row:
    """Insert the row and audit its fields as `new`. Refreshed so server defaults
    (timestamps) are loaded before the caller reads them."""
    async with constraint_errors(session, errors):
        session.add(row)
    await session.refresh(row)
    await record(session, actor, action, resource_type, row.id, new=snapshot(row, fields))
    return row


async def update(
    session: AsyncSession,
    actor: Actor,
    action: str,
    resource_type: str,
    row: Row,
    changes: Mapping[str, Any],
    *,
    fields: tuple[str, ...],
    errors: ConstraintErrors,
) -> Row:
    """Set the changed attributes and audit only the fields whose value differs (old and new).
    Nothing different: no audit entry and no refresh, so a no-op PUT leaves no trace."""
    before = snapshot(row, fields)
    async with constraint_errors(session, errors):
        for key, value in changes.items():
            setattr(row, key, value)
    old, new = changed(before, snapshot(row, fields))
    if new:
        # updated_at is set by the database (onupdate): reload it for the response.
        await session.refresh(row)
        await record(session, actor, action, resource_type, row.id, old=old, new=new)
    return row


async def delete(
    session: AsyncSession,
    actor: Actor,
    action: str,
    resource_type: str,
    row: Row,
    *,
    fields: tuple[str, ...],
    errors: ConstraintErrors | None = None,
) -> None:
    """Delete the row and audit its last fields as `old`. `errors` maps the foreign keys of
    rows that were pointed at it after the caller's in-use check (a race) to "in use"."""
    before = snapshot(row, fields)
    async with constraint_errors(session, errors or {}):
        await session.delete(row)
    await record(session, actor, action, resource_type, row.id, old=before)
