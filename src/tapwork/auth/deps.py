"""The authenticated user, and permission gates for routes.

Every route declares a gate: `Require(P.USERS_WRITE)` (or `CurrentUser` for self-service), so
the permission-matrix test can tell an endpoint without a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from tapwork.auth import refusals
from tapwork.auth.hooks import AccountHooks
from tapwork.auth.sessions import Client
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now, client_ip
from tapwork.errors import Forbidden, Unauthorized
from tapwork.kit.actor import Actor
from tapwork.kit.security import PasswordHasher, decode_access_token
from tapwork.user.models import User

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    actor: Actor

    @property
    def permissions(self) -> frozenset[str]:
        return self.actor.permissions

    def can(self, permission: str) -> bool:
        return permission in self.actor.permissions


async def current_principal(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Authentication required")
    try:
        claims = decode_access_token(
            credentials.credentials, secret=settings.jwt_secret.get_secret_value(), now=now
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Access token expired", reason="expired") from exc
    except jwt.InvalidTokenError as exc:
        # Forged, tampered or malformed: noted (bounded), and kept although the answer is 401.
        await refusals.note(
            session, kind="access", reason="invalid", ip=client_ip(request),
            request_id=getattr(request.state, "request_id", None), now=now,
        )  # fmt: skip
        await session.commit()
        raise Unauthorized("Invalid access token", reason="invalid") from exc
    user = await session.scalar(select(User).where(User.id == claims.sub))
    if user is None or not user.is_active:
        raise Unauthorized("Account is not active", reason="inactive")
    # Deactivation, password and role changes end earlier sessions on their next request.
    if user.sessions_valid_after and int(claims.iat.timestamp()) < int(
        user.sessions_valid_after.timestamp()
    ):
        raise Unauthorized("Session ended; sign in again", reason="session_revoked")
    actor = Actor(
        type="user",
        id=user.id,
        label=user.email,
        ip=client_ip(request),
        request_id=getattr(request.state, "request_id", None),
        permissions=user.permissions,
    )
    principal = Principal(user=user, actor=actor)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(*permissions: str) -> Any:
    """A gate that passes when the user holds ANY of `permissions`."""

    async def gate(principal: CurrentUser) -> Principal:
        if not any(principal.can(p) for p in permissions):
            raise Forbidden(
                "You do not have permission for this action", required=list(permissions)
            )
        return principal

    gate.__name__ = "require_" + "_or_".join(p.replace(":", "_") for p in permissions)
    return Depends(gate)


def _client(request: Request) -> Client:
    return Client(
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        request_id=getattr(request.state, "request_id", None),
    )


def _hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


async def _account_hooks(request: Request) -> AccountHooks:
    hooks: AccountHooks = request.app.state.account_hooks
    return hooks


RequestClient = Annotated[Client, Depends(_client)]
Hooks = Annotated[AccountHooks, Depends(_account_hooks)]
Hasher = Annotated[PasswordHasher, Depends(_hasher)]
