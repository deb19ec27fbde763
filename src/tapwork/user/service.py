"""Users: visibility, invitation, updates, deactivation and deletion.

Object-level rule: `users:read_all` sees everyone; `users:read_department` sees only members of
the departments whose manager is the actor. A user outside that scope is a 404, not a 403, so
existence does not leak. No escalation: an actor may only assign, or act on a user holding, a
role whose permissions they all hold themselves.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from tapwork.audit import service as audit
from tapwork.auth import sessions, tokens
from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.kit.actor import Actor
from tapwork.kit.pagination import PageParams, paginate
from tapwork.kit.search import contains
from tapwork.location.models import Location
from tapwork.notification import service as notification
from tapwork.notification.kinds import Kind
from tapwork.permissions import DEFAULT_ROLE, P
from tapwork.role.models import Role
from tapwork.shift.models import Shift
from tapwork.user.errors import (
    CannotChangeSelf,
    EmailTaken,
    EmployeeIdTaken,
    InvitationNotPending,
    RoleEscalation,
    UnknownReference,
    UserNotFound,
)
from tapwork.user.models import AUDIT_FIELDS, User
from tapwork.user.schemas import MeUpdate, UserCreate, UserUpdate


def audit_snapshot(user: User) -> dict[str, Any]:
    return {**audit.snapshot(user, AUDIT_FIELDS), "role": user.role.name}


def touch(user: User, now: datetime) -> None:
    """Stamp updated_at with the injected clock. Marked modified even when the value is equal:
    otherwise the column's server-side onupdate fires and expires the attribute, and reading it
    afterwards would need I/O outside the event loop."""
    user.updated_at = now
    flag_modified(user, "updated_at")


# ---- visibility ---------------------------------------------------------------------------


def visibility(actor: Actor) -> ColumnElement[bool]:
    """The rows `actor` may read, as a WHERE clause."""
    if actor.can(P.USERS_READ_ALL):
        return true()
    if actor.can(P.USERS_READ_DEPARTMENT):
        managed = select(Department.id).where(Department.manager_id == actor.id)
        return User.department_id.in_(managed.scalar_subquery())
    return false()


async def get_visible(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> User:
    user = await session.scalar(select(User).where(User.id == user_id, visibility(actor)))
    if user is None:
        raise UserNotFound
    return user


async def get(session: AsyncSession, user_id: uuid.UUID) -> User:
    """Any user, for actors whose permission (users:write, users:delete) is organisation-wide."""
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound
    return user


async def list_users(
    session: AsyncSession,
    actor: Actor,
    params: PageParams,
    *,
    department_id: uuid.UUID | None = None,
    is_active: bool | None = None,
    role: str | None = None,
    search: str | None = None,
) -> tuple[list[User], int]:
    query: Select[Any] = select(User).where(visibility(actor))
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    if is_active is not None:
        query = query.where(User.is_active.is_(is_active))
    if role is not None:
        query = query.where(User.role_id.in_(select(Role.id).where(Role.name == role)))
    if search is not None:
        full_name = func.concat(User.first_name, " ", User.last_name)
        query = query.where(
            or_(
                contains(full_name, search),
                contains(User.email, search),
                contains(User.employee_id, search),
            )
        )
    query = query.order_by(User.last_name, User.first_name, User.id)
    return await paginate(session, query, params)


# ---- rules shared by the API, the importer and the CLI -------------------------------------


def may_hold(actor: Actor, role: Role) -> bool:
    return set(role.permissions) <= actor.permissions


def ensure_may_assign(actor: Actor, role: Role) -> None:
    if not may_hold(actor, role):
        missing = sorted(set(role.permissions) - actor.permissions)
        raise RoleEscalation(
            f"You cannot assign the role {role.name}: it has permissions you do not hold",
            role=role.name,
            missing_permissions=missing,
        )


def ensure_may_manage(actor: Actor, user: User) -> None:
    # Otherwise HR could change an admin's email and reset the password: an escalation too.
    if actor.type == "user" and not may_hold(actor, user.role):
        raise RoleEscalation(
            "You cannot change a user whose role has permissions you do not hold",
            role=user.role.name,
        )


async def default_role(session: AsyncSession) -> Role:
    role = await session.scalar(select(Role).where(Role.name == DEFAULT_ROLE))
    assert role is not None, "system roles are seeded by `tapwork migrate`"
    return role


async def _resolve_role(session: AsyncSession, role_id: uuid.UUID) -> Role:
    role = await session.get(Role, role_id)
    if role is None:
        raise UnknownReference("role_id", "role")
    return role


async def check_references(session: AsyncSession, values: dict[str, Any]) -> None:
    """422 naming the first field whose id points at nothing."""
    for field, model, what in (
        ("department_id", Department, "department"),
        ("shift_id", Shift, "shift"),
        ("location_id", Location, "location"),
    ):
        ref = values.get(field)
        if (
            ref is not None
            and await session.scalar(select(model.id).where(model.id == ref)) is None
        ):
            raise UnknownReference(field, what)


async def ensure_unique(
    session: AsyncSession,
    *,
    email: str | None,
    employee_id: str | None,
    exclude: uuid.UUID | None = None,
) -> None:
    conditions = []
    if email is not None:
        conditions.append(User.email == email)
    if employee_id is not None:
        conditions.append(User.employee_id == employee_id)
    if not conditions:
        return
    query = select(User.email, User.employee_id).where(or_(*conditions))
    if exclude is not None:
        query = query.where(User.id != exclude)
    for found_email, found_employee_id in (await session.execute(query)).all():
        if email is not None and found_email == email:
            raise EmailTaken
        if employee_id is not None and found_employee_id == employee_id:
            raise EmployeeIdTaken


async def flush_unique(session: AsyncSession) -> None:
    """Flush in a SAVEPOINT: a concurrent insert of the same email or employee_id that slipped
    past `ensure_unique` is a clean 409, and the request transaction survives."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        message = str(exc.orig)
        if "uq_users_employee_id" in message:
            raise EmployeeIdTaken from exc
        if "uq_users_email" in message:
            raise EmailTaken from exc
        raise


async def end_sessions(session: AsyncSession, user: User, *, now: datetime) -> None:
    """Access tokens issued before now stop working; refresh tokens are revoked."""
    user.sessions_valid_after = now
    await sessions.revoke_all(session, user.id, now=now)


def accept_url(settings: Settings, raw_token: str) -> str:
    return f"{settings.public_url}/portal/accept-invite?token={raw_token}"


async def send_invitation(
    session: AsyncSession, user: User, *, invited_by: str, settings: Settings, now: datetime
) -> None:
    raw = await tokens.issue(
        session,
        user,
        tokens.Purpose.INVITE,
        now=now,
        ttl=timedelta(hours=settings.invite_token_hours),
    )
    await notification.enqueue(
        session,
        Kind.INVITATION,
        to=user,
        context={"accept_url": accept_url(settings, raw), "invited_by": invited_by},
    )


# ---- writes -------------------------------------------------------------------------------


async def invite(
    session: AsyncSession,
    data: UserCreate,
    *,
    actor: Actor,
    invited_by: str,
    settings: Settings,
    now: datetime,
    default_language: str = "en",
) -> User:
    """Create a user without a password and mail them an invitation to set one, in the
    language chosen for them (else the inviter's)."""
    role = (
        await _resolve_role(session, data.role_id) if data.role_id else await default_role(session)
    )
    ensure_may_assign(actor, role)
    values = data.model_dump(exclude={"role_id"})
    values["language"] = data.language or default_language
    await check_references(session, values)
    await ensure_unique(session, email=data.email, employee_id=data.employee_id)
    user = User(
        id=uuid.uuid4(),
        **values,
        role=role,
        password_hash=None,
        is_active=True,
        notification_preferences=await notification.new_user_preferences(session),
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await flush_unique(session)
    await send_invitation(session, user, invited_by=invited_by, settings=settings, now=now)
    await audit.record(session, actor, "user.create", "user", user.id, new=audit_snapshot(user))
    return user


async def resend_invite(
    session: AsyncSession,
    user: User,
    *,
    actor: Actor,
    invited_by: str,
    settings: Settings,
    now: datetime,
) -> None:
    ensure_may_manage(actor, user)
    if user.password_hash is not None:
        raise InvitationNotPending("This user has already accepted the invitation")
    if not user.is_active:
        raise InvitationNotPending("This user is deactivated; reactivate them first")
    await send_invitation(session, user, invited_by=invited_by, settings=settings, now=now)
    await audit.record(session, actor, "user.invite_resent", "user", user.id)


async def update_user(
    session: AsyncSession, user: User, data: UserUpdate, *, actor: Actor, now: datetime
) -> User:
    ensure_may_manage(actor, user)
    changes = data.changes()
    is_self = actor.id == user.id
    role: Role | None = None
    if "role_id" in changes and changes["role_id"] != user.role_id:
        if is_self:
            raise CannotChangeSelf("You cannot change your own role")
        role = await _resolve_role(session, changes["role_id"])
        ensure_may_assign(actor, role)
    if changes.get("is_active") is False and is_self and user.is_active:
        raise CannotChangeSelf("You cannot deactivate yourself")
    await check_references(session, changes)
    await ensure_unique(
        session, email=changes.get("email"), employee_id=changes.get("employee_id"), exclude=user.id
    )
    old = audit_snapshot(user)
    deactivated = changes.get("is_active") is False and user.is_active
    for field, value in changes.items():
        if field != "role_id":
            setattr(user, field, value)
    if role is not None:
        user.role = role
    if deactivated or role is not None:
        await end_sessions(session, user, now=now)
    before, after = audit.changed(old, audit_snapshot(user))
    if after:
        touch(user, now)
        await flush_unique(session)
        await audit.record(session, actor, "user.update", "user", user.id, old=before, new=after)
    return user


async def delete_user(session: AsyncSession, user: User, *, actor: Actor) -> None:
    """Badges, attendance and tokens go with the user; audit entries stay (no foreign key)."""
    if actor.id == user.id:
        raise CannotChangeSelf("You cannot delete yourself")
    ensure_may_manage(actor, user)
    user_id, old = user.id, audit_snapshot(user)
    await session.delete(user)
    await session.flush()
    await audit.record(session, actor, "user.delete", "user", user_id, old=old)


async def update_me(
    session: AsyncSession, user: User, data: MeUpdate, *, actor: Actor, now: datetime
) -> User:
    old = audit_snapshot(user)
    sent = data.model_dump(exclude_unset=True, exclude_none=True)
    if "first_name" in sent:
        user.first_name = sent["first_name"]
    if "last_name" in sent:
        user.last_name = sent["last_name"]
    if "language" in sent:
        user.language = sent["language"]
    if "notification_preferences" in sent:
        # A new dict, so SQLAlchemy sees the JSONB change.
        user.notification_preferences = {
            **(user.notification_preferences or {}),
            **sent["notification_preferences"],
        }
    before, after = audit.changed(old, audit_snapshot(user))
    if after:
        touch(user, now)
        await session.flush()
        await audit.record(
            session, actor, "user.update_self", "user", user.id, old=before, new=after
        )
    return user


async def placement(
    session: AsyncSession, user: User
) -> tuple[Department | None, Shift | None, Location | None]:
    """The department, shift and location a user belongs to (for their own profile)."""
    return (
        await session.get(Department, user.department_id) if user.department_id else None,
        await session.get(Shift, user.shift_id) if user.shift_id else None,
        await session.get(Location, user.location_id) if user.location_id else None,
    )
