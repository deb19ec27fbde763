"""Self-registration and email verification.

Registration answers the same whether or not the address already has an account: the owner
of a taken address gets an `account_exists` mail instead of a second account.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import service as audit
from tapwork.auth import password as policy
from tapwork.auth import service, tokens
from tapwork.auth.errors import EmployeeIdTaken, RegistrationDisabled
from tapwork.auth.hooks import AccountHooks
from tapwork.auth.schemas import RegisterIn
from tapwork.auth.sessions import Client
from tapwork.auth.tokens import Purpose
from tapwork.config import Settings
from tapwork.kit.security import PasswordHasher
from tapwork.notification import service as notification
from tapwork.notification.i18n import from_accept_language
from tapwork.notification.kinds import Kind
from tapwork.user.models import AUDIT_FIELDS as USER_AUDIT_FIELDS
from tapwork.user.models import User


def _constraint(exc: IntegrityError) -> str | None:
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    return name if isinstance(name, str) else None


async def register(
    session: AsyncSession,
    data: RegisterIn,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    now: datetime,
    client: Client,
    hooks: AccountHooks,
    accept_language: str | None = None,
) -> None:
    """Create an unverified employee and mail a verification link (in the language asked
    for, else the browser's).

    An address that already has an account gets an `account_exists` mail instead, and the
    caller answers the same either way.
    """
    if not settings.registration_enabled:
        raise RegistrationDisabled("Self-registration is switched off; ask HR for an invitation")
    password = policy.normalise(data.password)
    policy.check(password, email=data.email, settings=settings, field="password")
    await hooks.check_placement(session, data.department_id, data.shift_id)
    # Hashed before the address is looked up, so both answers take the same time.
    password_hash = await hasher.hash(password)
    # employee_id before email: a 409 must not depend on whether the email exists.
    if await session.scalar(select(User.id).where(User.employee_id == data.employee_id)):
        raise EmployeeIdTaken()
    existing = await session.scalar(select(User).where(User.email == data.email))
    if existing is not None:
        await notification.enqueue(
            session,
            Kind.ACCOUNT_EXISTS,
            to=existing,
            context={
                "login_url": service.portal_url(settings, "login"),
                "reset_url": service.portal_url(settings, "reset-password"),
            },
        )
        return
    role = await hooks.default_role(session)
    user = User(
        email=data.email,
        employee_id=data.employee_id,
        first_name=data.first_name,
        last_name=data.last_name,
        password_hash=password_hash,
        role=role,
        department_id=data.department_id,
        shift_id=data.shift_id,
        password_changed_at=now,
        language=data.language or from_accept_language(accept_language),
        notification_preferences=await notification.new_user_preferences(session),
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        # A concurrent registration passed the checks above at the same time.
        if _constraint(exc) == "uq_users_employee_id":
            raise EmployeeIdTaken() from exc
        if _constraint(exc) == "uq_users_email":
            return
        raise
    await audit.record(
        session,
        client.actor(user),
        "auth.register",
        "user",
        user.id,
        new=audit.snapshot(user, USER_AUDIT_FIELDS),
    )
    raw = await tokens.issue(
        session,
        user,
        Purpose.VERIFY_EMAIL,
        now=now,
        ttl=timedelta(hours=settings.verify_token_hours),
    )
    await notification.enqueue(
        session,
        Kind.EMAIL_VERIFICATION,
        to=user,
        context={"verify_url": service.portal_url(settings, "verify-email", raw)},
    )


async def verify_email(
    session: AsyncSession,
    raw: str,
    *,
    settings: Settings,
    now: datetime,
    client: Client,
    hooks: AccountHooks,
) -> User:
    _, user = await service.token_user(session, raw, Purpose.VERIFY_EMAIL, now=now)
    if user.email_verified_at is None:
        user.email_verified_at = now
        await audit.record(
            session,
            client.actor(user),
            "auth.verify_email",
            "user",
            user.id,
            old={"email_verified_at": None},
            new={"email_verified_at": now},
        )
        await hooks.welcome(session, user, settings, now)
    return user
