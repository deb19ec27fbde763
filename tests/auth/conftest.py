"""Helpers for the auth tests: mails are asserted as outbox rows (delivery is the
notification domain's concern), and tokens are read back from the links in them."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.config import Settings
from tapwork.notification.models import OutboxEmail
from tapwork.user.models import User
from tests.support.factories import PASSWORD, unique

NEW_PASSWORD = "a much longer pass phrase 42"


@pytest.fixture(autouse=True)
def _generous_limits(settings: Settings) -> None:
    # Flows make several auth calls from one IP; test_limits.py lowers it on purpose.
    settings.rate_limit_auth_per_minute = 1000


async def mails(session: AsyncSession, to: str, kind: str | None = None) -> list[OutboxEmail]:
    query = select(OutboxEmail).where(OutboxEmail.to_address == to)
    if kind is not None:
        query = query.where(OutboxEmail.kind == kind)
    rows = await session.scalars(query.order_by(OutboxEmail.created_at))
    return list(rows.all())


def token_in(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


async def audit_actions(session: AsyncSession, user_id: Any) -> list[str]:
    rows = await session.scalars(
        select(AuditLog.action)
        .where(AuditLog.resource_type == "user", AuditLog.resource_id == str(user_id))
        .order_by(AuditLog.created_at, AuditLog.action)
    )
    return list(rows.all())


async def fresh(session: AsyncSession, user: User) -> User:
    """The user as the app left it (the test session's copy may be stale)."""
    found = await session.scalar(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"{unique('new')}@example.com",
        "password": NEW_PASSWORD,
        "first_name": "Nora",
        "last_name": "Newcomer",
        "employee_id": unique("N"),
    }
    body.update(overrides)
    return body


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})
