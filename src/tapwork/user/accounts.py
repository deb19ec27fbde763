"""The user domain's side of account creation, for auth (`tapwork.auth.hooks`): where a new
account may be placed, the role it starts with, and its welcome mail with the badge."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.auth.errors import field_error
from tapwork.auth.hooks import AccountHooks
from tapwork.auth.service import portal_url
from tapwork.badge import service as badge_service
from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.notification import service as notification
from tapwork.notification.kinds import Kind
from tapwork.permissions import DEFAULT_ROLE
from tapwork.role import service as role_service
from tapwork.role.models import Role
from tapwork.shift.models import Shift
from tapwork.user.models import User


async def check_placement(
    session: AsyncSession, department_id: uuid.UUID | None, shift_id: uuid.UUID | None
) -> None:
    if department_id and await session.get(Department, department_id) is None:
        raise field_error("department_id", "No such department")
    if shift_id and await session.get(Shift, shift_id) is None:
        raise field_error("shift_id", "No such shift")


async def default_role(session: AsyncSession) -> Role:
    role = await role_service.get_by_name(session, DEFAULT_ROLE)
    assert role is not None, "system roles are seeded by `tapwork migrate`"
    return role


async def queue_welcome(
    session: AsyncSession, user: User, settings: Settings, now: datetime
) -> None:
    """The one place the welcome mail is queued (after verification or an accepted invite)."""
    badge = await badge_service.ensure_active(session, user, now=now, settings=settings)
    context = {"login_url": portal_url(settings, "login"), "badge_code": badge.code_data}
    await notification.enqueue(session, Kind.WELCOME, to=user, context=context)


ACCOUNT_HOOKS = AccountHooks(
    check_placement=check_placement, default_role=default_role, welcome=queue_welcome
)
