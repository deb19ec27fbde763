from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from tapwork.auth import registration, service
from tapwork.auth.deps import CurrentUser, Hasher, Hooks, RequestClient
from tapwork.auth.errors import InvalidCredentials, RefreshTokenReused
from tapwork.auth.schemas import (
    Accepted,
    AcceptInviteIn,
    ChangePasswordIn,
    InvitationOut,
    LoginIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    RegisterIn,
    SessionOut,
    SessionUser,
    TokenIn,
    Verified,
)
from tapwork.auth.sessions import IssuedSession
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now
from tapwork.limits import auth_limit, by_email, by_ip, rate_limit

router = APIRouter(prefix="/auth", tags=["auth"])

REGISTERED = (
    "If this address can be registered, we have sent it an email with the next step. "
    "Open the link in it to confirm the address."
)
RESET_REQUESTED = (
    "If this address belongs to an active account, we have sent it a link to choose a new password."
)


def _session_out(issued: IssuedSession) -> SessionOut:
    user = issued.user
    return SessionOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        user=SessionUser(
            id=user.id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            role=user.role.name,
            permissions=sorted(user.permissions),
        ),
    )


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[auth_limit("auth.register", by_ip(), by_email())],
)
async def register(
    request: Request,
    body: RegisterIn,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    hasher: Hasher,
    client: RequestClient,
    hooks: Hooks,
) -> Accepted:
    """Create an account (role employee) and email a link that confirms the address.

    The answer is the same whether or not the address already has an account (its owner gets
    an email saying so). Sign-in works once the address is confirmed. 403
    `REGISTRATION_DISABLED` when self-registration is switched off; 409 `EMPLOYEE_ID_TAKEN`;
    422 naming the field for a weak password or an unknown department or shift.
    """
    await registration.register(
        session,
        body,
        hasher=hasher,
        settings=settings,
        now=now,
        client=client,
        hooks=hooks,
        accept_language=request.headers.get("accept-language"),
    )
    return Accepted(message=REGISTERED)


@router.post("/verify-email", dependencies=[auth_limit("auth.verify_email", by_ip())])
async def verify_email(
    body: TokenIn,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    client: RequestClient,
    hooks: Hooks,
) -> Verified:
    """Confirm an email address with the token from the verification email.

    400 `INVALID_TOKEN` when the token is unknown, used or expired.
    """
    await registration.verify_email(
        session, body.token, settings=settings, now=now, client=client, hooks=hooks
    )
    return Verified(message="Email address confirmed; you can sign in now.")


@router.post(
    "/login",
    dependencies=[rate_limit("auth.login", by_ip(), limit=lambda s: s.rate_limit_login_per_minute)],
)
async def login(
    body: LoginIn,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    hasher: Hasher,
    client: RequestClient,
) -> SessionOut:
    """Sign in with email and password.

    401 `INVALID_CREDENTIALS` for a wrong email or password (the same answer for both);
    403 `EMAIL_NOT_VERIFIED` or `ACCOUNT_DISABLED` after a correct password. After repeated
    failures a client waits before it may try again (429 `RATE_LIMITED` with `Retry-After`,
    doubling per failure); a client that has not failed is never refused for others' guesses.
    """
    try:
        issued = await service.login(
            session, body.email, body.password, hasher=hasher, settings=settings, now=now,
            client=client,
        )  # fmt: skip
    except InvalidCredentials:
        # The failure's count and audit entry must outlive this error answer.
        await session.commit()
        raise
    return _session_out(issued)


@router.post("/refresh", dependencies=[auth_limit("auth.refresh", by_ip())])
async def refresh(
    body: RefreshIn, session: DbSession, settings: AppSettings, now: Now, client: RequestClient
) -> SessionOut:
    """Trade a refresh token for a new token pair; the presented token stops working.

    Each refresh token works once. Presenting one that was already traded ends every session
    of that sign-in (401 `REFRESH_TOKEN_REUSED`): keep only the newest token. 401
    `INVALID_REFRESH_TOKEN` for an unknown, expired or revoked token or an inactive account.
    """
    try:
        issued = await service.refresh(
            session, body.refresh_token, settings=settings, now=now, client=client
        )
    except RefreshTokenReused:
        # The family's revocation must outlive this error answer, which rolls back otherwise.
        await session.commit()
        raise
    return _session_out(issued)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[auth_limit("auth.logout", by_ip())],
)
async def logout(body: RefreshIn, session: DbSession, now: Now, client: RequestClient) -> Response:
    """Sign out: the refresh token and every token rotated from it stop working.

    Always 204, also for a token that is unknown or already revoked. Access tokens already
    issued expire on their own within minutes.
    """
    await service.logout(session, body.refresh_token, now=now, client=client)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[auth_limit("auth.password_reset", by_ip(), by_email())],
)
async def request_password_reset(
    body: PasswordResetIn,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    client: RequestClient,
) -> Accepted:
    """Email a single-use link to choose a new password.

    The answer is the same whether or not the address has an account.
    """
    await service.request_password_reset(
        session, body.email, settings=settings, now=now, client=client
    )
    return Accepted(message=RESET_REQUESTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[auth_limit("auth.password_reset_confirm", by_ip())],
)
async def confirm_password_reset(
    body: PasswordResetConfirmIn,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    hasher: Hasher,
    client: RequestClient,
) -> Response:
    """Set a new password with the token from the reset email, and sign out everywhere.

    400 `INVALID_TOKEN` when the token is unknown, used or expired; 422 naming
    `new_password` when it does not meet the policy (the token stays usable).
    """
    await service.confirm_password_reset(
        session,
        body.token,
        body.new_password,
        hasher=hasher,
        settings=settings,
        now=now,
        client=client,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/invitation", dependencies=[auth_limit("auth.accept_invite", by_ip())])
async def invitation(body: TokenIn, session: DbSession, now: Now) -> InvitationOut:
    """Whose account this invitation opens (name and email), without using it up. Only the
    holder of the emailed link can ask. 400 `INVALID_TOKEN` when unknown, used or expired."""
    user = await service.invitation_holder(session, body.token, now=now)
    return InvitationOut(first_name=user.first_name, full_name=user.full_name, email=user.email)


@router.post("/accept-invite", dependencies=[auth_limit("auth.accept_invite", by_ip())])
async def accept_invite(
    body: AcceptInviteIn,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    hasher: Hasher,
    client: RequestClient,
    hooks: Hooks,
) -> SessionOut:
    """Choose the first password of an invited account; answers like login (signed in).

    400 `INVALID_TOKEN` when the invitation is unknown, used or expired; 422 naming
    `password` when it does not meet the policy.
    """
    issued = await service.accept_invite(
        session,
        body.token,
        body.password,
        hasher=hasher,
        settings=settings,
        now=now,
        client=client,
        hooks=hooks,
    )
    return _session_out(issued)


@router.post("/change-password", dependencies=[auth_limit("auth.change_password", by_ip())])
async def change_password(
    body: ChangePasswordIn,
    principal: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    now: Now,
    hasher: Hasher,
    client: RequestClient,
) -> SessionOut:
    """Change your password. Every other session ends; this client gets a fresh token pair.

    422 naming `current_password` when it is wrong, or `new_password` when it does not meet
    the policy.
    """
    issued = await service.change_password(
        session,
        principal.user,
        body.current_password,
        body.new_password,
        hasher=hasher,
        settings=settings,
        now=now,
        client=client,
    )
    return _session_out(issued)
