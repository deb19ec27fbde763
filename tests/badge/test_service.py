"""Issuing, regenerating, revoking and resolving badges against real PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.audit.models import AuditLog
from tapwork.badge import codec, keys
from tapwork.badge import service as badges
from tapwork.badge.errors import (
    BadgeConflict,
    BadgeExpired,
    BadgeRevoked,
    BadgeSuperseded,
    InvalidQrCode,
)
from tapwork.badge.models import Badge, BadgeKey
from tapwork.config import Settings
from tapwork.kit.actor import SYSTEM
from tapwork.user.models import User
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.personas import Org

_T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def test_ensure_active_issues_once(session: AsyncSession, org: Org, settings: Settings):
    first = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    again = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    assert first.id == again.id
    assert codec.verify(first.code_data, keys.keyring(settings)) == first.id
    assert first.expires_at is None


async def test_first_issue_creates_the_first_key(session: AsyncSession, org: Org, settings):
    badge = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    active = list(await session.scalars(select(BadgeKey).where(BadgeKey.is_active)))
    assert [k.kid for k in active] == [badge.kid]
    assert badge.code_data.startswith(f"TW1:{badge.kid}:")


async def test_expiry_from_settings(session: AsyncSession, org: Org, settings: Settings):
    settings.badge_valid_days = 30
    badge = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    assert badge.expires_at == org.clock() + timedelta(days=30)


async def test_regenerate_supersedes_old(session: AsyncSession, org: Org, settings: Settings):
    now = org.clock()
    old = await badges.ensure_active(session, org.employee, now=now, settings=settings)
    new = await badges.regenerate(session, org.employee, actor=SYSTEM, now=now, settings=settings)
    assert new.id != old.id
    assert new.code_data != old.code_data
    await session.refresh(old)
    assert old.revoked_at == now
    assert old.revoke_reason == "superseded"
    with pytest.raises(BadgeSuperseded) as exc:
        await badges.resolve_for_scan(session, old.code_data, now=now)
    assert exc.value.badge is not None
    assert exc.value.badge.id == old.id
    assert (await badges.resolve_for_scan(session, new.code_data, now=now)).id == new.id
    entries = await session.scalar(
        select(func.count()).where(
            AuditLog.action == "badge.regenerate", AuditLog.resource_id == str(new.id)
        )
    )
    assert entries == 1


async def test_revoked_badge_rejected(session: AsyncSession, org: Org, settings: Settings):
    now = org.clock()
    badge = await badges.ensure_active(session, org.employee, now=now, settings=settings)
    await badges.revoke(session, org.employee, actor=SYSTEM, now=now)
    with pytest.raises(BadgeRevoked) as exc:
        await badges.resolve_for_scan(session, badge.code_data, now=now)
    assert exc.value.status_code == 403
    assert exc.value.code == "BADGE_REVOKED"
    # Once a fresh badge exists, the revoked card reads as superseded.
    await badges.ensure_active(session, org.employee, now=now, settings=settings)
    with pytest.raises(BadgeSuperseded):
        await badges.resolve_for_scan(session, badge.code_data, now=now)


async def test_revoke_without_badge_is_404(session: AsyncSession, org: Org):
    with pytest.raises(badges.NoActiveBadge):
        await badges.revoke(session, org.employee, actor=SYSTEM, now=org.clock())


async def test_expired_badge_rejected(session: AsyncSession, org: Org, settings: Settings):
    clock: FrozenClock = org.clock
    settings.badge_valid_days = 1
    badge = await badges.ensure_active(session, org.employee, now=clock(), settings=settings)
    assert (await badges.resolve_for_scan(session, badge.code_data, now=clock())).id == badge.id
    with pytest.raises(BadgeExpired) as exc:
        await badges.resolve_for_scan(session, badge.code_data, now=clock.advance(days=1))
    assert exc.value.code == "BADGE_EXPIRED"


async def test_signed_code_for_unknown_badge_rejected(session: AsyncSession, settings: Settings):
    code = codec.encode(uuid.uuid4(), "ABCD", keys.keyring(settings))
    with pytest.raises(InvalidQrCode) as exc:
        await badges.resolve_for_scan(session, code, now=FrozenClock(_T0)())
    assert exc.value.status_code == 400
    assert exc.value.details["reason"] == "unknown_badge"


async def test_rotation_keeps_old_badges_valid(session: AsyncSession, org: Org, settings):
    now = org.clock()
    old = await badges.ensure_active(session, org.employee, now=now, settings=settings)
    old_kid, new_kid = await keys.rotate(session, now=now)
    assert old_kid == old.kid
    assert new_kid != old.kid
    assert (await badges.resolve_for_scan(session, old.code_data, now=now)).id == old.id
    fresh = await badges.ensure_active(session, org.supervisor, now=now, settings=settings)
    assert fresh.kid == new_kid
    assert fresh.code_data.startswith(f"TW1:{new_kid}:")
    assert (await badges.resolve_for_scan(session, fresh.code_data, now=now)).id == fresh.id
    retired = await session.get(BadgeKey, old_kid)
    assert retired is not None
    assert not retired.is_active
    assert retired.retired_at == now


async def test_resolve_is_one_round_trip_and_loads_user(
    session: AsyncSession, org: Org, settings: Settings
):
    badge = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    user_id = badge.user_id
    session.expunge_all()
    statements: list[str] = []
    sync_engine = session.bind.sync_engine if hasattr(session.bind, "sync_engine") else None
    assert sync_engine is not None

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        resolved = await badges.resolve_for_scan(
            session, badge.code_data, now=org.clock(), keyring=keys.keyring(settings)
        )
        user = await session.get(User, user_id)
        assert resolved.user is user
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    assert resolved.id == badge.id
    assert user is not None
    assert user.role.name == "employee"
    assert len(statements) == 1, statements


async def test_sample_of_forgeries_rejected_through_resolve(
    session: AsyncSession, org: Org, settings: Settings
):
    badge = await badges.ensure_active(session, org.employee, now=org.clock(), settings=settings)
    rng = random.Random(7)
    code = badge.code_data
    for _ in range(200):
        chars = list(code)
        i = rng.randrange(len(chars))
        chars[i] = rng.choice([c for c in sorted(codec.QR_ALPHANUMERIC) if c != chars[i]])
        with pytest.raises(InvalidQrCode):
            await badges.resolve_for_scan(session, "".join(chars), now=org.clock())


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
):
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
):
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
