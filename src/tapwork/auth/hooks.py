"""What auth needs from the domains above it, handed in by whoever builds the app.

auth sits below the domains (docs/architecture.md), yet self-registration must check a
department and a shift and give the new account the default role, and a confirmed account gets
a welcome mail carrying its badge. Those rules belong to the department, shift, role, badge and
user domains: `tapwork.user.accounts.ACCOUNT_HOOKS` implements them, `main.create_app` puts it
on `app.state.account_hooks`, and the auth routes pass it down (the `Hooks` dependency).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.config import Settings
from tapwork.role.models import Role
from tapwork.user.models import User


@dataclass(frozen=True, slots=True)
class AccountHooks:
    # Raises a 422 naming the field for a department or shift that does not exist.
    check_placement: Callable[[AsyncSession, uuid.UUID | None, uuid.UUID | None], Awaitable[None]]
    # The role a self-registered account starts with.
    default_role: Callable[[AsyncSession], Awaitable[Role]]
    # Queues the welcome mail of an account that just became usable (verified or invited).
    welcome: Callable[[AsyncSession, User, Settings, datetime], Awaitable[None]]
