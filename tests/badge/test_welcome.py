"""The welcome mail carries the new employee's badge (rendered inline by the mail worker)."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.badge import codec, keys
from tapwork.badge.models import Badge
from tapwork.config import Settings
from tapwork.user.models import User
from tests.auth.conftest import mails, registration, token_in


async def test_welcome_after_verification_has_the_active_badge(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    body = registration()
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 202
    [verification] = await mails(session, body["email"], "email_verification")
    token = token_in(verification.context["verify_url"])
    assert (
        await client.post("/api/v1/auth/verify-email", json={"token": token})
    ).status_code == 200

    [welcome] = await mails(session, body["email"], "welcome")
    user = await session.scalar(select(User).where(User.email == body["email"]))
    assert user is not None
    badge = await session.scalar(
        select(Badge).where(Badge.user_id == user.id, Badge.revoked_at.is_(None))
    )
    assert badge is not None
    assert welcome.context["badge_code"] == badge.code_data
    assert codec.verify(welcome.context["badge_code"], keys.keyring(settings)) == badge.id
