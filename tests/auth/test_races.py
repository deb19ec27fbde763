"""Registrations racing on one email or employee_id: the database decides, and the loser gets
the same answers as when the check had seen the winner (202 / 409), never a 500."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.main import create_app
from tapwork.user.models import User
from tests.auth.conftest import registration
from tests.support import factories as f
from tests.support.clock import FrozenClock


@pytest.fixture
async def committed_client(
    settings: Settings, clock: FrozenClock, committed_db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings, clock=clock)
    app.state.sessionmaker = committed_db
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _wait_until_blocked(engine: AsyncEngine, request: asyncio.Task[httpx.Response]) -> None:
    deadline = time.monotonic() + 30
    async with engine.connect() as conn:
        while time.monotonic() < deadline:
            if request.done():
                response = request.result()
                raise AssertionError(
                    "the registration finished without waiting on the other transaction: "
                    f"{response.status_code} {response.text}"
                )
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            if waiting:
                return
            # pg_stat_activity is a snapshot taken once per transaction: end it, or a request
            # slower to reach its INSERT than the first poll is never seen waiting.
            await conn.rollback()
            await asyncio.sleep(0.02)
    raise AssertionError("the registration never waited on the other transaction")


async def _race(
    engine: AsyncEngine, client: httpx.AsyncClient, winner: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    """`winner` is inserted by another transaction that commits only once the request's
    INSERT is waiting on it, so the request's own checks could not see it."""
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as other:
        other.add(
            User(
                **winner,
                first_name="Win",
                last_name="Ner",
                password_hash=None,
                role=await f.role(other, "employee"),
            )
        )
        await other.flush()
        request = asyncio.create_task(client.post("/api/v1/auth/register", json=body))
        await _wait_until_blocked(engine, request)
        await other.commit()
    return await request


async def _count(engine: AsyncEngine, **where: str) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(User).filter_by(**where)
        return int(await conn.scalar(query) or 0)


async def test_racing_on_an_email_answers_202_and_keeps_one_account(
    engine: AsyncEngine, committed_client: httpx.AsyncClient
) -> None:
    body = registration()
    winner = {"email": body["email"], "employee_id": f.unique("W")}

    response = await _race(engine, committed_client, winner, body)

    assert response.status_code == 202
    assert await _count(engine, email=body["email"]) == 1


async def test_racing_on_an_employee_id_answers_409(
    engine: AsyncEngine, committed_client: httpx.AsyncClient
) -> None:
    body = registration()
    winner = {"email": f"{f.unique('w')}@example.com", "employee_id": body["employee_id"]}

    response = await _race(engine, committed_client, winner, body)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EMPLOYEE_ID_TAKEN"
    assert await _count(engine, email=body["email"]) == 0


async def test_two_refreshes_with_one_token_leave_no_live_session(
    committed_client: httpx.AsyncClient, committed_db: async_sessionmaker[AsyncSession]
) -> None:
    # Real commits: the reuse answer must commit the family's revocation, not roll it back.
    async with committed_db() as s:
        user = await f.make_user(s)
        await s.commit()
    pair = (
        await committed_client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": f.PASSWORD}
        )
    ).json()

    answers = await asyncio.gather(
        *(
            committed_client.post(
                "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            for _ in range(2)
        )
    )

    assert sorted(r.status_code for r in answers) == [200, 401]
    [winner] = [r for r in answers if r.status_code == 200]
    [loser] = [r for r in answers if r.status_code == 401]
    assert loser.json()["error"]["code"] == "REFRESH_TOKEN_REUSED"
    after = await committed_client.post(
        "/api/v1/auth/refresh", json={"refresh_token": winner.json()["refresh_token"]}
    )
    assert after.status_code == 401
