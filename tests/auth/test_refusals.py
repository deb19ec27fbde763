"""Refused tokens leave a trace in the audit log, one entry per client, kind, reason and minute."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.kiosk.models import Kiosk
from tests.support.personas import Org


async def _refusals(session: AsyncSession) -> list[tuple[str, str | None, Any]]:
    rows = await session.scalars(
        select(AuditLog)
        .where(AuditLog.action == "auth.token_refused")
        .order_by(AuditLog.created_at)
    )
    return [(e.actor_type, e.ip, e.new_values) for e in rows]


def _forged(org: Org) -> dict[str, str]:
    token = jwt.encode({"sub": str(org.admin.id), "typ": "access"}, "k" * 64, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


async def test_a_forged_access_token_is_audited_once_a_minute_per_client(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    statuses = [
        (await client.get("/api/v1/users", headers=_forged(org))).status_code for _ in range(5)
    ]
    first_minute = await _refusals(session)
    org.clock.advance(minutes=1)
    await client.get("/api/v1/users", headers=_forged(org))

    assert statuses == [401] * 5
    assert first_minute == [("anonymous", "127.0.0.1", {"kind": "access", "reason": "invalid"})]
    assert len(await _refusals(session)) == 2


async def test_an_expired_access_token_is_everyday_life_not_a_refusal(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    headers = org.headers(org.admin)
    org.clock.advance(minutes=org.settings.access_token_minutes + 1)
    response = await client.get("/api/v1/users", headers=headers)

    assert response.status_code == 401
    assert await _refusals(session) == []


async def test_unknown_and_revoked_kiosk_tokens_are_audited(
    client: httpx.AsyncClient, session: AsyncSession, org: Org, kiosk: tuple[Kiosk, str]
) -> None:
    unknown = await client.get("/api/v1/kiosks/me", headers={"X-Kiosk-Token": "n" * 43})
    device, token = kiosk
    device.revoked_at = org.clock()
    await session.commit()
    # A revoked kiosk still scanning: the scan's own path (the ASGI fast path) notes it too.
    scan = await client.post(
        "/api/v1/attendance",
        headers={"X-Kiosk-Token": token},
        json={"code_data": "TW1.x.y", "client_scan_id": "s-1"},
    )

    assert unknown.status_code == 401
    assert scan.status_code in (401, 403)
    assert [values for _, _, values in await _refusals(session)] == [
        {"kind": "kiosk", "reason": "unknown"},
        {"kind": "kiosk", "reason": "revoked"},
    ]
