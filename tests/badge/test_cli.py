"""`tapwork badges rotate-key` and `tapwork badges print` against a committed database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from tapwork.badge import cli, codec, keys
from tapwork.badge import service as badges
from tapwork.badge.models import Badge, BadgeKey
from tapwork.config import Settings
from tapwork.kit.clock import utcnow
from tests.support import factories as f


async def test_rotate_key_signs_new_badges_and_keeps_old_valid(
    committed_db: async_sessionmaker[AsyncSession], base_settings: Settings
) -> None:
    async with committed_db() as s:
        user, other = await f.make_user(s), await f.make_user(s)
        old_badge = await badges.ensure_active(s, user, now=utcnow(), settings=base_settings)
        await s.commit()

    retired, active = await cli.rotate_key(base_settings)
    assert retired == old_badge.kid
    assert active != retired

    async with committed_db() as s:
        ring = keys.keyring(base_settings)
        # The retired kid still verifies the badges it signed.
        assert codec.verify(old_badge.code_data, ring) == old_badge.id
        new_badge = await badges.ensure_active(s, other, now=utcnow(), settings=base_settings)
        assert new_badge.kid == active
        assert codec.verify(new_badge.code_data, ring) == new_badge.id
        key = await s.get(BadgeKey, retired)
        assert key is not None
        assert not key.is_active
        await s.commit()
    listed = await cli.list_keys(base_settings)
    assert [(kid, is_active) for kid, is_active, *_ in listed if kid in (retired, active)] == [
        (retired, False),
        (active, True),
    ]


async def test_print_writes_one_card_per_user(
    committed_db: async_sessionmaker[AsyncSession], base_settings: Settings, tmp_path: Path
) -> None:
    async with committed_db() as s:
        department = await f.make_department(s, name="Warehouse")
        members = [await f.make_user(s, department=department) for _ in range(3)]
        extra = await f.make_user(s)
        await s.commit()
    out = tmp_path / "badges.pdf"
    console = Console(record=True, width=100)
    count = await cli.print_badges(
        base_settings,
        department="Warehouse",
        employee_ids=[extra.employee_id],
        out=out,
        console=console,
    )
    assert count == 4
    pdf = out.read_bytes()
    titles = re.findall(rb"/Title \((E\d+)", pdf)
    assert sorted(t.decode() for t in titles) == sorted(u.employee_id for u in [*members, extra])
    assert "Drawing cards" in console.export_text()
    async with committed_db() as s:
        issued = set(await s.scalars(select(Badge.user_id)))
    assert {u.id for u in [*members, extra]} <= issued


async def test_print_unknown_department_fails(base_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(cli.CliFailure, match="Nope"):
        await cli.print_badges(
            base_settings,
            department="Nope",
            employee_ids=[],
            out=tmp_path / "x.pdf",
            console=Console(),
        )
    assert not (tmp_path / "x.pdf").exists()


def test_print_needs_a_selection(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["print", "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "--department" in result.output
