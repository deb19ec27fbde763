"""Accounts: sign-in, refresh, logout, password reset, invitations, password change.

None of these answers reveals whether an email address has an account: registration and reset
answer the same whatever the address, and a wrong address fails sign-in exactly like a wrong
password (after verifying against a dummy hash, so it also takes as long).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import structlog
from pwdlib.exceptions import UnknownHashError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import service as audit
from tapwork.auth import password as policy
from tapwork.auth import sessions, throttle, tokens
from tapwork.auth.errors import (
    AccountDisabled,
    EmailNotVerified,
    InvalidCredentials,
    InvalidToken,
    RefreshTokenReused,
    field_error,
)
from tapwork.auth.hooks import AccountHooks
from tapwork.auth.models import ActionToken
from tapwork.auth.sessions import Client, IssuedSession
from tapwork.auth.tokens import Purpose
from tapwork.config import Settings
from tapwork.kit.security import PasswordHasher
from tapwork.notification import service as notification
from tapwork.notification.kinds import Kind
from tapwork.user.models import User

log = structlog.get_logger("tapwork.auth")


def portal_url(settings: Settings, page: str, token: str | None = None) -> str:
    """Links in emails open the portal, which calls the API with the token."""
    url = f"{settings.public_url.rstrip('/')}/portal/{page}"
    return f"{url}?{urlencode({'token': token})}" if token else url


async def _verify(
    hasher: PasswordHasher, password: str, hashed: str | None
) -> tuple[bool, str | None]:
    try:
        return await hasher.verify(policy.normalise(password), hashed)
    except ValueError:
        # bcrypt refuses input over 72 bytes; such a password cannot match a bcrypt hash.
        return False, None
    except UnknownHashError:
        # An imported or hand-disabled hash ("!", "*"): no password opens it.
        log.warning("unknown_password_hash_format")
        return False, None


async def token_user(
    session: AsyncSession, raw: str, purpose: Purpose, *, now: datetime
) -> tuple[ActionToken, User]:
    token = await tokens.consume(session, raw, purpose, now=now)
    user = await session.get(User, token.user_id) if token else None
    if token is None or user is None or not user.is_active:
        raise InvalidToken("This link is invalid, already used or expired")
    return token, user


async def invitation_holder(session: AsyncSession, raw: str, *, now: datetime) -> User:
    """Whose account an unused invitation opens; the token is not used up."""
    token = await tokens.peek(session, raw, Purpose.INVITE, now=now)
    user = await session.get(User, token.user_id) if token else None
    if token is None or user is None or not user.is_active:
        raise InvalidToken("This link is invalid, already used or expired")
    return user


async def login(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    now: datetime,
    client: Client,
) -> IssuedSession:
    """Sign in; a failure is counted and audited in `session`, which the caller must commit
    before answering (the error would roll it back otherwise)."""
    keys, policy = throttle.Keys.of(email, client.ip), throttle.Policy.of(settings)
    await throttle.check(session, keys, policy=policy, now=now)
    user = await session.scalar(select(User).where(User.email == email))
    # An unknown address verifies against a dummy hash: same error, same time.
    valid, upgraded = await _verify(hasher, password, user.password_hash if user else None)
    if user is None or not valid:
        wait = await throttle.record_failure(session, keys, policy=policy, now=now)
        await audit.record(
            session,
            client.anonymous(),
            "auth.login_failed",
            "user",
            user.id if user else None,
            # Never the address typed: it may be a password typed in the wrong field.
            new={"reason": "wrong_password" if user else "unknown_account",
                 "wait_seconds": int(wait.total_seconds())},
        )  # fmt: skip
        raise InvalidCredentials("Email or password is incorrect")
    await throttle.record_success(session, keys)
    # Only now, with the password proven, may the answer say more about the account.
    if not user.is_active:
        raise AccountDisabled("This account is deactivated; contact HR")
    if user.email_verified_at is None:
        raise EmailNotVerified("Confirm your email address first: open the link we emailed you")
    if upgraded:
        user.password_hash = upgraded  # bcrypt (or an older argon2 cost) → current argon2id
    issued = await sessions.start(session, user, settings=settings, now=now, client=client)
    await audit.record(
        session,
        client.actor(user),
        "auth.login",
        "user",
        user.id,
        new={"family_id": issued.family_id, "password_rehashed": bool(upgraded)},
    )
    return issued


async def refresh(
    session: AsyncSession, raw: str, *, settings: Settings, now: datetime, client: Client
) -> IssuedSession:
    """Rotate; on reuse the family is revoked and the caller must commit (see sessions.rotate)."""
    try:
        issued, old = await sessions.rotate(session, raw, settings=settings, now=now, client=client)
    except RefreshTokenReused as exc:
        owner = await session.get(User, exc.user_id)
        if owner is not None:
            await audit.record(
                session,
                client.actor(owner),
                "auth.refresh_reused",
                "user",
                owner.id,
                new={"revoked_family_id": exc.family_id},
            )
        raise
    await audit.record(
        session,
        client.actor(issued.user),
        "auth.refresh",
        "user",
        issued.user.id,
        new={"family_id": issued.family_id, "rotated_token_id": old.id},
    )
    return issued


async def logout(session: AsyncSession, raw: str, *, now: datetime, client: Client) -> None:
    token = await sessions.end(session, raw, now=now)
    user = await session.get(User, token.user_id) if token else None
    if token is not None and user is not None:
        await audit.record(
            session,
            client.actor(user),
            "auth.logout",
            "user",
            user.id,
            new={"revoked_family_id": token.family_id},
        )


async def request_password_reset(
    session: AsyncSession, email: str, *, settings: Settings, now: datetime, client: Client
) -> None:
    """Mail a single-use reset link when the address has an active account; else nothing."""
    user = await session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active:
        return
    raw = await tokens.issue(
        session,
        user,
        Purpose.PASSWORD_RESET,
        now=now,
        ttl=timedelta(minutes=settings.reset_token_minutes),
    )
    await notification.enqueue(
        session,
        Kind.PASSWORD_RESET,
        to=user,
        context={"reset_url": portal_url(settings, "reset-password", raw)},
    )
    await audit.record(
        session, client.actor(user), "auth.password_reset_requested", "user", user.id
    )


async def _set_password(
    session: AsyncSession, user: User, password: str, *, hasher: PasswordHasher, now: datetime
) -> None:
    """New hash; every earlier session (access and refresh tokens) ends; mail the owner."""
    user.password_hash = await hasher.hash(password)
    user.password_changed_at = now
    user.sessions_valid_after = now
    await sessions.revoke_all(session, user.id, now=now)
    await notification.enqueue(
        session, Kind.PASSWORD_CHANGED, to=user, context={"changed_at": now.isoformat()}
    )


async def confirm_password_reset(
    session: AsyncSession,
    raw: str,
    new_password: str,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    now: datetime,
    client: Client,
) -> None:
    # A policy failure below rolls the request back, so the token stays usable for a retry.
    _, user = await token_user(session, raw, Purpose.PASSWORD_RESET, now=now)
    password = policy.normalise(new_password)
    policy.check(password, email=user.email, settings=settings, field="new_password")
    await _set_password(session, user, password, hasher=hasher, now=now)
    changes: dict[str, Any] = {"password_changed_at": now}
    if user.email_verified_at is None:
        # The link reached the mailbox: that proves the address as well as a verify link.
        user.email_verified_at = now
        changes["email_verified_at"] = now
    await audit.record(
        session, client.actor(user), "auth.password_reset", "user", user.id, new=changes
    )


async def accept_invite(
    session: AsyncSession,
    raw: str,
    password: str,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    now: datetime,
    client: Client,
    hooks: AccountHooks,
) -> IssuedSession:
    """Set the first password of an invited user; the invitation proves the address."""
    _, user = await token_user(session, raw, Purpose.INVITE, now=now)
    password = policy.normalise(password)
    policy.check(password, email=user.email, settings=settings, field="password")
    user.password_hash = await hasher.hash(password)
    user.password_changed_at = now
    user.sessions_valid_after = now
    await sessions.revoke_all(session, user.id, now=now)
    first_verification = user.email_verified_at is None
    if first_verification:
        user.email_verified_at = now
    await audit.record(
        session,
        client.actor(user),
        "auth.invite_accepted",
        "user",
        user.id,
        new={"password_changed_at": now, "email_verified_at": user.email_verified_at},
    )
    await hooks.welcome(session, user, settings, now)
    return await sessions.start(session, user, settings=settings, now=now, client=client)


async def change_password(
    session: AsyncSession,
    user: User,
    current_password: str,
    new_password: str,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    now: datetime,
    client: Client,
) -> IssuedSession:
    """Ends every other session; the returned pair keeps this client signed in."""
    valid, _ = await _verify(hasher, current_password, user.password_hash)
    if not valid:
        raise field_error("current_password", "is not your current password")
    password = policy.normalise(new_password)
    policy.check(password, email=user.email, settings=settings, field="new_password")
    await _set_password(session, user, password, hasher=hasher, now=now)
    await audit.record(
        session,
        client.actor(user),
        "auth.password_changed",
        "user",
        user.id,
        new={"password_changed_at": now},
    )
    return await sessions.start(session, user, settings=settings, now=now, client=client)
