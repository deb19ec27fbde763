"""Login, reset and registration answer identically for existing and unknown addresses."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth.conftest import mails, registration
from tests.support.personas import Org

# The IP bucket counts both calls, so "remaining" differs by design.
VARYING_HEADERS = {"x-request-id", "x-ratelimit-reset", "x-ratelimit-remaining"}


def _visible(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in VARYING_HEADERS}
    return response.status_code, response.json(), headers


async def test_registration_answers_the_same_for_a_taken_address(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    taken = await client.post("/api/v1/auth/register", json=registration(email=org.employee.email))
    free = await client.post("/api/v1/auth/register", json=registration())

    assert _visible(taken) == _visible(free)
    assert taken.status_code == 202
    # The difference is only in the mailbox, which only the address owner reads.
    assert [m.kind for m in await mails(session, org.employee.email)] == ["account_exists"]


async def test_reset_answers_the_same_for_an_unknown_address(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    known = await client.post("/api/v1/auth/password-reset", json={"email": org.employee.email})
    unknown = await client.post("/api/v1/auth/password-reset", json={"email": "no@example.com"})

    assert _visible(known) == _visible(unknown)
    assert known.status_code == 202
    assert [m.kind for m in await mails(session, org.employee.email)] == ["password_reset"]


async def test_login_answers_the_same_for_an_unknown_address(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = {"password": "wrong password, long enough"}
    known = await client.post("/api/v1/auth/login", json={"email": org.employee.email, **body})
    unknown = await client.post("/api/v1/auth/login", json={"email": "no@example.com", **body})

    assert _visible(known) == _visible(unknown)
    assert known.status_code == 401
