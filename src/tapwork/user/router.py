"""/api/v1/users: the people of the organisation."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from starlette.datastructures import UploadFile

from tapwork.auth.deps import CurrentUser, Principal, require
from tapwork.db import DbSession
from tapwork.deps import AppSettings, Now
from tapwork.kit.pagination import Page, Pagination
from tapwork.kit.types import Search
from tapwork.permissions import P
from tapwork.user import importer
from tapwork.user import service as user_service
from tapwork.user.errors import UnsupportedMediaType
from tapwork.user.schemas import (
    ImportResult,
    MeRead,
    MeUpdate,
    RoleName,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"])

Readers = Annotated[Principal, require(P.USERS_READ_ALL, P.USERS_READ_DEPARTMENT)]
Writers = Annotated[Principal, require(P.USERS_WRITE)]


@router.get("/me", response_model=MeRead)
async def read_me(principal: CurrentUser, session: DbSession) -> MeRead:
    """The signed-in user, with the permissions of their role and the names and hours of
    their department, shift and location."""
    user = principal.user
    return MeRead.of(user, await user_service.placement(session, user))


@router.put("/me", response_model=MeRead)
async def update_me(body: MeUpdate, principal: CurrentUser, session: DbSession, now: Now) -> MeRead:
    """Change your own name or notification preferences.

    Preferences are merged: kinds you do not send keep their value. Security mail (invitation,
    verification, password reset and change, admin alerts) cannot be turned off: 422.
    """
    user = await user_service.update_me(
        session, principal.user, body, actor=principal.actor, now=now
    )
    return MeRead.of(user, await user_service.placement(session, user))


@router.get("", response_model=Page[UserRead])
async def list_users(
    principal: Readers,
    session: DbSession,
    pagination: Pagination,
    department_id: uuid.UUID | None = None,
    is_active: bool | None = None,
    role: Annotated[RoleName | None, Query(description="role name, e.g. `supervisor`")] = None,
    search: Annotated[
        Search | None, Query(description="matches name, email or employee_id")
    ] = None,
) -> Page[UserRead]:
    """Users, by last name. With `users:read_department` only the members of the departments
    you manage are listed."""
    users, total = await user_service.list_users(
        session,
        principal.actor,
        pagination,
        department_id=department_id,
        is_active=is_active,
        role=role,
        search=search,
    )
    return Page(
        items=[UserRead.of(u) for u in users],
        total=total,
        page=pagination.page,
        limit=pagination.limit,
    )


@router.post("", response_model=UserRead, status_code=status.HTTP_201_CREATED)
async def invite_user(
    body: UserCreate,
    principal: Writers,
    session: DbSession,
    settings: AppSettings,
    now: Now,
) -> UserRead:
    """Invite an employee: the account is created without a password and an invitation email
    with a set-password link is sent. Duplicate email or employee_id: 409 naming the field.
    Assigning a role with permissions you do not hold: 403 ROLE_ESCALATION."""
    user = await user_service.invite(
        session,
        body,
        actor=principal.actor,
        invited_by=principal.user.full_name,
        settings=settings,
        now=now,
        default_language=principal.user.language,
    )
    return UserRead.of(user)


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV with the columns email, employee_id, first_name, last_name and "
        "optionally department, shift, location, role (names). As a multipart upload "
        "(field `file`) or as the raw body with Content-Type text/csv.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


# What the import accepts (RequestMiddleware answers 415 to anything else, main.py).
IMPORT_MEDIA_TYPES = frozenset({"multipart/form-data", "text/csv", "text/plain", "application/csv"})


async def _csv_bytes(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=5) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise UnsupportedMediaType("Send the CSV in the multipart field `file`")
            return await upload.read()
    if content_type in ("text/csv", "text/plain", "application/csv"):
        return await request.body()
    raise UnsupportedMediaType(
        "Send a CSV file: multipart/form-data with a `file` field, or a text/csv body"
    )


@router.post("/import", response_model=ImportResult, openapi_extra=_IMPORT_BODY)
async def import_users(
    request: Request,
    principal: Annotated[Principal, require(P.USERS_IMPORT)],
    session: DbSession,
    settings: AppSettings,
    now: Now,
    skip_invalid: Annotated[
        bool, Query(description="import the good rows and report the bad ones")
    ] = False,
    send_invites: Annotated[bool, Query(description="invite the users created")] = True,
) -> ImportResult:
    """Create or update employees from a CSV file, matched on employee_id.

    Every row is validated first. If any row is bad, nothing is imported and the answer is
    422 IMPORT_INVALID with `details.errors` = `[{row, field, message}]` (the header is row 1),
    unless `skip_invalid=true`. Empty cells and missing optional columns leave an existing
    user's value unchanged; `role` defaults to `employee` for new users.
    """
    data = await _csv_bytes(request)
    return await importer.run(
        session,
        data,
        actor=principal.actor,
        settings=settings,
        now=now,
        skip_invalid=skip_invalid,
        send_invites=send_invites,
        invited_by=principal.user.full_name,
    )


@router.get("/{user_id:uuid}", response_model=UserRead)
async def read_user(user_id: uuid.UUID, principal: Readers, session: DbSession) -> UserRead:
    """One user. Outside the departments you manage (without `users:read_all`): 404."""
    return UserRead.of(await user_service.get_visible(session, principal.actor, user_id))


@router.put("/{user_id:uuid}", response_model=UserRead)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, principal: Writers, session: DbSession, now: Now
) -> UserRead:
    """Change a user. Only the fields sent change. `is_active: false` deactivates the account
    and ends its sessions; a role change also ends them. You cannot change your own role,
    deactivate yourself, or change a user whose role has permissions you do not hold."""
    user = await user_service.get(session, user_id)
    user = await user_service.update_user(session, user, body, actor=principal.actor, now=now)
    return UserRead.of(user)


@router.delete("/{user_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(
    user_id: uuid.UUID,
    principal: Annotated[Principal, require(P.USERS_DELETE)],
    session: DbSession,
) -> Response:
    """Delete a user with their badges, attendance and tokens. The audit log keeps its entries.
    Deleting yourself: 409. Prefer deactivation to keep attendance history."""
    user = await user_service.get(session, user_id)
    await user_service.delete_user(session, user, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{user_id:uuid}/resend-invite", status_code=status.HTTP_202_ACCEPTED)
async def resend_invite(
    user_id: uuid.UUID,
    principal: Writers,
    session: DbSession,
    settings: AppSettings,
    now: Now,
) -> dict[str, str]:
    """Mail a fresh invitation; earlier invitation links stop working. 409 when the user has
    already set a password or is deactivated."""
    user = await user_service.get(session, user_id)
    await user_service.resend_invite(
        session,
        user,
        actor=principal.actor,
        invited_by=principal.user.full_name,
        settings=settings,
        now=now,
    )
    return {"status": "queued"}
