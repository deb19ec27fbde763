"""Bulk CSV import of employees, shared by `POST /users/import` and `tapwork import-users`.

Reading the file is `import_csv.py`; this module validates the rows and writes them.

Two phases. Validation reads every row and resolves every name with ONE query per table
(departments, shifts, locations, roles, existing users), so a 5,000-row file costs a handful of
queries, not thousands. Only when every row is good (or the caller asked to skip bad rows) are
the users written, in the caller's transaction: all or nothing.

Idempotent on employee_id: an existing employee is updated in place. A column missing from the
file, or an empty cell, leaves that field of an existing user unchanged (a re-import of a file
without a `role` column must not demote anyone); clearing is done through the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import service as audit
from tapwork.auth import sessions, tokens
from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.kit.actor import Actor
from tapwork.location.models import Location
from tapwork.notification import service as notification
from tapwork.notification.kinds import Kind
from tapwork.permissions import DEFAULT_ROLE
from tapwork.role.models import Role
from tapwork.shift.models import Shift
from tapwork.user import service as user_service
from tapwork.user.errors import ImportInvalid
from tapwork.user.import_csv import CheckedCells, ImportRow, RawRow, check_cells, parse, row_error
from tapwork.user.models import User
from tapwork.user.schemas import ImportResult, ImportRowError

CHUNK = 500

# phase ("validate" | "import"), done, total
Progress = Callable[[str, int, int], None]


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


@dataclass
class _Good:
    number: int
    row: ImportRow
    role: Role | None
    department_id: uuid.UUID | None
    shift_id: uuid.UUID | None
    location_id: uuid.UUID | None
    existing: User | None


@dataclass
class Plan:
    rows: int
    good: list[_Good] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})


# ---- validation ---------------------------------------------------------------------------


Named = TypeVar("Named", Department, Shift, Location, Role)


async def _by_name(
    session: AsyncSession, model: type[Named], names: set[str]
) -> dict[str, list[Named]]:
    """lower(name) -> rows: names match case-insensitively, exact case wins on a tie."""
    if not names:
        return {}
    found: dict[str, list[Named]] = {}
    query = select(model).where(func.lower(model.name).in_({n.lower() for n in names}))
    for obj in (await session.scalars(query)).all():
        found.setdefault(obj.name.lower(), []).append(obj)
    return found


def _pick(found: dict[str, list[Any]], name: str) -> Any | None:
    candidates = found.get(name.lower(), [])
    exact = [c for c in candidates if c.name == name]
    if exact:
        return exact[0]
    return candidates[0] if len(candidates) == 1 else None


async def validate(
    session: AsyncSession,
    rows: list[RawRow],
    *,
    actor: Actor,
    progress: Progress = _no_progress,
) -> Plan:
    plan = Plan(rows=len(rows))
    checked: list[CheckedCells] = []
    for i, raw in enumerate(rows, start=1):
        if i % CHUNK == 0:
            progress("validate", i, len(rows))
        checked.append(check_cells(raw))

    def wanted(column: str) -> set[str]:
        return {n for c in checked if (n := c.names.get(column))}

    found: dict[str, dict[str, list[Any]]] = {
        "department": await _by_name(session, Department, wanted("department")),
        "shift": await _by_name(session, Shift, wanted("shift")),
        "location": await _by_name(session, Location, wanted("location")),
        "role": await _by_name(session, Role, wanted("role") | {DEFAULT_ROLE}),
    }
    parsed = [c.row for c in checked if c.row is not None]
    existing = (
        (
            await session.scalars(
                select(User).where(
                    or_(
                        User.employee_id.in_({r.employee_id for r in parsed}),
                        User.email.in_({r.email for r in parsed}),
                    )
                )
            )
        ).all()
        if parsed
        else []
    )
    by_employee_id = {u.employee_id: u for u in existing}
    by_email = {u.email: u for u in existing}

    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for item in checked:
        number, row, errors = item.number, item.row, item.errors
        target: User | None = None
        if row is not None:
            if row.employee_id in seen_ids:
                first = seen_ids[row.employee_id]
                errors.append(row_error(number, "employee_id", f"Duplicate of row {first}"))
            if row.email in seen_emails:
                errors.append(
                    row_error(number, "email", f"Duplicate of row {seen_emails[row.email]}")
                )
            seen_ids.setdefault(row.employee_id, number)
            seen_emails.setdefault(row.email, number)
            target = by_employee_id.get(row.employee_id)
            owner = by_email.get(row.email)
            if owner is not None and owner is not target:
                errors.append(row_error(number, "email", "Already used by another user"))
            if target is not None and not user_service.may_hold(actor, target.role):
                message = "Belongs to a user whose role you cannot change"
                errors.append(row_error(number, "employee_id", message))
        refs: dict[str, Any] = {}
        for column in ("department", "shift", "location", "role"):
            name = item.names.get(column)
            if name is None and column == "role" and row is not None and target is None:
                name = DEFAULT_ROLE  # new users default to employee; existing keep theirs
            refs[column] = _pick(found[column], name) if name else None
            if name and refs[column] is None:
                errors.append(row_error(number, column, f"No {column} named {name!r}"))
        role: Role | None = refs["role"]
        if role is not None and not user_service.may_hold(actor, role):
            errors.append(row_error(number, "role", f"You cannot assign the role {role.name}"))
        if errors or row is None:
            plan.errors.extend(errors)
            continue
        plan.good.append(
            _Good(
                number=number,
                row=row,
                role=role,
                department_id=refs["department"].id if refs["department"] else None,
                shift_id=refs["shift"].id if refs["shift"] else None,
                location_id=refs["location"].id if refs["location"] else None,
                existing=target,
            )
        )
    progress("validate", len(rows), len(rows))
    plan.errors.sort(key=lambda e: e.row)
    return plan


# ---- writing ------------------------------------------------------------------------------


def _chunks(items: list[_Good]) -> Iterable[list[_Good]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _new_user(good: _Good, now: datetime, preferences: dict[str, Any]) -> User:
    assert good.role is not None  # validation defaults it to `employee` for new rows
    return User(
        id=uuid.uuid4(),
        email=good.row.email,
        employee_id=good.row.employee_id,
        first_name=good.row.first_name,
        last_name=good.row.last_name,
        role=good.role,
        department_id=good.department_id,
        shift_id=good.shift_id,
        location_id=good.location_id,
        password_hash=None,
        is_active=True,
        notification_preferences=dict(preferences),
        created_at=now,
        updated_at=now,
    )


def _update(good: _Good, now: datetime) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Apply a row to its existing user: (old values, new values, role changed)."""
    user = good.existing
    assert user is not None
    old = user_service.audit_snapshot(user)
    user.email = good.row.email
    user.first_name = good.row.first_name
    user.last_name = good.row.last_name
    # Empty cells leave a field unchanged (see the module docstring).
    for column in ("department_id", "shift_id", "location_id"):
        value = getattr(good, column)
        if value is not None:
            setattr(user, column, value)
    role_changed = good.role is not None and good.role.id != user.role_id
    if role_changed:
        assert good.role is not None
        user.role = good.role
        user.sessions_valid_after = now
    before, after = audit.changed(old, user_service.audit_snapshot(user))
    if after:
        user_service.touch(user, now)
    return before, after, role_changed


async def apply(
    session: AsyncSession,
    plan: Plan,
    *,
    actor: Actor,
    settings: Settings,
    now: datetime,
    send_invites: bool,
    invited_by: str,
    progress: Progress = _no_progress,
) -> tuple[int, int]:
    """Write the plan's good rows; (created, updated). Flushes, never commits.

    Audit and outbox rows get their timestamps here rather than from server defaults: a row
    whose server default must be read back is inserted one statement per row, while rows with
    every value given go out as one multi-row INSERT per chunk (measured: 30 s → 3 s for 5,000).
    """
    created = updated = done = 0
    sessions_ended: list[uuid.UUID] = []
    preferences = await notification.new_user_preferences(session)
    progress("import", 0, len(plan.good))
    for chunk in _chunks(plan.good):
        new_users: list[User] = []
        for good in chunk:
            if good.existing is None:
                new_users.append(_new_user(good, now, preferences))
                continue
            before, after, role_changed = _update(good, now)
            updated += 1
            if role_changed:
                sessions_ended.append(good.existing.id)
            if after:
                entry = await audit.record(
                    session, actor, "user.update", "user", good.existing.id, old=before, new=after
                )
                entry.created_at = now
        created += len(new_users)
        session.add_all(new_users)
        # Users first, so the tokens and outbox rows below find them.
        await user_service.flush_unique(session)
        invitations = (
            tokens.issue_to_new_users(
                session,
                new_users,
                tokens.Purpose.INVITE,
                now=now,
                ttl=timedelta(hours=settings.invite_token_hours),
            )
            if send_invites
            else []
        )
        for index, user in enumerate(new_users):
            new = user_service.audit_snapshot(user)
            entry = await audit.record(session, actor, "user.create", "user", user.id, new=new)
            entry.created_at = now
            if send_invites:
                raw = invitations[index]
                mail = await notification.enqueue(
                    session,
                    Kind.INVITATION,
                    to=user,
                    context={
                        "accept_url": user_service.accept_url(settings, raw),
                        "invited_by": invited_by,
                    },
                )
                assert mail is not None  # security mail is never opted out of
                mail.created_at = mail.next_attempt_at = now
        await session.flush()
        done += len(chunk)
        progress("import", done, len(plan.good))
    if sessions_ended:
        await sessions.revoke_all_of(session, sessions_ended, now=now)
    return created, updated


async def run(
    session: AsyncSession,
    data: bytes,
    *,
    actor: Actor,
    settings: Settings,
    now: datetime,
    skip_invalid: bool = False,
    send_invites: bool = True,
    invited_by: str = "TAPWORK",
    progress: Progress = _no_progress,
) -> ImportResult:
    """Validate, then import. Raises ImportInvalid (nothing written) when a row is bad and
    `skip_invalid` is false."""
    rows = parse(data)
    plan = await validate(session, rows, actor=actor, progress=progress)
    if plan.errors and not skip_invalid:
        raise ImportInvalid([e.model_dump() for e in plan.errors], rows=plan.rows)
    created, updated = await apply(
        session,
        plan,
        actor=actor,
        settings=settings,
        now=now,
        send_invites=send_invites,
        invited_by=invited_by,
        progress=progress,
    )
    result = ImportResult(
        created=created, updated=updated, skipped=plan.bad_rows, errors=plan.errors
    )
    await audit.record(
        session,
        actor,
        "user.import",
        "user",
        None,
        new={"rows": plan.rows, "created": created, "updated": updated, "skipped": plan.bad_rows},
    )
    return result
