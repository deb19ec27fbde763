"""Issuing, regenerating, revoking and rotating badges against real PostgreSQL; whether a
badge scans is asked of the scan endpoint, as a kiosk does."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.audit.models import AuditLog
from tapwork.badge import codec, keys
from tapwork.badge import service as badges
from tapwork.badge.errors import (
    BadgeConflict,
    InvalidQrCode,
    NoActiveBadge,
)
from tapwork.badge.models import Badge, BadgeKey
from tapwork.config import Settings
from tapwork.kit.actor import SYSTEM
from tapwork.user.models import User
from tests.attendance.conftest import Scanner
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org

_T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def test_ensure_active_issues_once(
    session: AsyncSession, org: Org, settings: Settings
) -> None:
    first = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    again = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    assert first.id == again.id
    assert codec.verify(first.code_data, keys.keyring(settings)) == first.id
    assert first.expires_at is None


async def test_first_issue_creates_the_first_key(
    session: AsyncSession, org: Org, settings: Settings
) -> None:
    badge = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    active = list(await session.scalars(select(BadgeKey).where(BadgeKey.is_active)))
    assert [k.kid for k in active] == [badge.kid]
    assert badge.code_data.startswith(f"TW1:{badge.kid}:")


async def test_expiry_from_settings(session: AsyncSession, org: Org, settings: Settings) -> None:
    settings.badge_valid_days = 30
    badge = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    assert badge.expires_at == org.clock() + timedelta(days=30)


def _scan_code(response: httpx.Response) -> str:
    """The scan's outcome: the action, or the error code."""
    body = response.json()
    return str(body["action"]) if "action" in body else str(body["error"]["code"])


@pytest.fixture
def scanner(client: httpx.AsyncClient, kiosk_headers: dict[str, str]) -> Scanner:
    return Scanner(client, kiosk_headers)


async def test_regenerate_supersedes_old(
    session: AsyncSession, org: Org, settings: Settings, scanner: Scanner
) -> None:
    now = org.clock()
    old = await badges.ensure_active(session, org.employee, now=now, settings=settings)
    new = await badges.regenerate(session, org.employee, actor=SYSTEM, now=now, settings=settings)
    assert new.id != old.id
    assert new.code_data != old.code_data
    await session.refresh(old)
    assert old.revoked_at == now
    assert old.revoke_reason == "superseded"
    await session.flush()
    assert _scan_code(await scanner.scan(old.code_data)) == "BADGE_SUPERSEDED"
    assert _scan_code(await scanner.scan(new.code_data)) == "check_in"
    entries = await session.scalar(
        select(func.count()).where(
            AuditLog.action == "badge.regenerate", AuditLog.resource_id == str(new.id)
        )
    )
    assert entries == 1


async def test_revoked_badge_rejected(
    session: AsyncSession, org: Org, settings: Settings, scanner: Scanner
) -> None:
    now = org.clock()
    badge = await badges.ensure_active(session, org.employee, now=now, settings=settings)
    await badges.revoke(session, org.employee, actor=SYSTEM, now=now)
    await session.flush()
    revoked = await scanner.scan(badge.code_data)
    assert revoked.status_code == 403
    assert _scan_code(revoked) == "BADGE_REVOKED"
    # Once a fresh badge exists, the revoked card reads as superseded.
    await badges.ensure_active(session, org.employee, now=now, settings=settings)
    await session.flush()
    assert _scan_code(await scanner.scan(badge.code_data)) == "BADGE_SUPERSEDED"


async def test_revoke_without_badge_is_404(session: AsyncSession, org: Org) -> None:
    with pytest.raises(NoActiveBadge):
        await badges.revoke(session, org.employee, actor=SYSTEM, now=org.clock())


async def test_expired_badge_rejected(
    session: AsyncSession, org: Org, settings: Settings, scanner: Scanner
) -> None:
    clock: FrozenClock = org.clock
    settings.badge_valid_days = 1
    badge = await badges.ensure_active(session, org.employee, now=clock(), settings=settings)
    await session.flush()
    assert _scan_code(await scanner.scan(badge.code_data)) == "check_in"
    clock.advance(days=1)
    assert _scan_code(await scanner.scan(badge.code_data)) == "BADGE_EXPIRED"


async def test_signed_code_for_unknown_badge_rejected(scanner: Scanner, settings: Settings) -> None:
    code = codec.encode(uuid.uuid4(), "ABCD", keys.keyring(settings))
    response = await scanner.scan(code)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_QR_CODE"
    assert response.json()["error"]["details"]["reason"] == "unknown_badge"


async def test_rotation_keeps_old_badges_valid(
    session: AsyncSession, org: Org, settings: Settings, scanner: Scanner
) -> None:
    now = org.clock()
    old = await badges.ensure_active(session, org.employee, now=now, settings=settings)
    old_kid, new_kid = await keys.rotate(session, now=now)
    assert old_kid == old.kid
    assert new_kid != old.kid
    await session.flush()
    assert _scan_code(await scanner.scan(old.code_data)) == "check_in"
    fresh = await badges.ensure_active(session, org.supervisor, now=now, settings=settings)
    assert fresh.kid == new_kid
    assert fresh.code_data.startswith(f"TW1:{new_kid}:")
    await session.flush()
    assert _scan_code(await scanner.scan(fresh.code_data)) == "check_in"
    retired = await session.get(BadgeKey, old_kid)
    assert retired is not None
    assert not retired.is_active
    assert retired.retired_at == now


async def test_sample_of_forgeries_rejected(
    session: AsyncSession, org: Org, settings: Settings
) -> None:
    badge = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    rng = random.Random(7)
    code = badge.code_data
    for _ in range(200):
        chars = list(code)
        i = rng.randrange(len(chars))
        chars[i] = rng.choice([c for c in sorted(codec.QR_ALPHANUMERIC) if c != chars[i]])
        with pytest.raises(InvalidQrCode):
            codec.verify("".join(chars), keys.keyring(settings))


async def _wait_until_blocked(maker: async_sessionmaker[AsyncSession]) -> None:
    """Bounded polling until some backend waits on a row lock."""
    for _ in range(200):
        async with maker() as s:
            waiting = await s.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second regeneration never blocked")


async def test_concurrent_regenerate_one_wins_other_conflicts(
    committed_db: async_sessionmaker[AsyncSession], base_settings: Settings
) -> None:
    async with committed_db() as s:
        user = await f.make_user(s)
        first = await badges.ensure_active(s, user, now=_T0, settings=base_settings)
        await s.commit()

    async def regenerate(s: AsyncSession) -> Badge:
        target = await s.get(User, user.id)
        assert target is not None
        return await badges.regenerate(s, target, actor=SYSTEM, now=_T0, settings=base_settings)

    async with committed_db() as a, committed_db() as b:
        winner = await regenerate(a)
        loser = asyncio.create_task(regenerate(b))
        await _wait_until_blocked(committed_db)
        await a.commit()
        with pytest.raises(BadgeConflict) as exc:
            await loser
        assert exc.value.status_code == 409
        await b.rollback()

    async with committed_db() as s:
        active = list(
            await s.scalars(
                select(Badge).where(Badge.user_id == user.id, Badge.revoked_at.is_(None))
            )
        )
        assert [x.id for x in active] == [winner.id]
        assert winner.id != first.id


async def test_concurrent_first_issue_returns_one_badge(
    committed_db: async_sessionmaker[AsyncSession], base_settings: Settings
) -> None:
    async with committed_db() as s:
        user = await f.make_user(s)
        await s.commit()

    async def view(s: AsyncSession) -> Badge:
        target = await s.get(User, user.id)
        assert target is not None
        return await badges.ensure_active(s, target, now=_T0, settings=base_settings)

    async with committed_db() as a, committed_db() as b:
        first = await view(a)
        second = asyncio.create_task(view(b))
        await _wait_until_blocked(committed_db)
        await a.commit()
        other = await second
        await b.commit()
    assert other.id == first.id
