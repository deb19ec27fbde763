"""The restore drill: seeded database → `tapwork backup` → `tapwork restore` into a new
database → every table's row count and checksum equal (the drill itself in real processes)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tapwork.backup.manifest import TableSummary, prepare_session, summarize
from tapwork.config import Settings
from tests.backup.conftest import in_process, tapwork


def _summary(url: str) -> dict[str, TableSummary]:
    with psycopg.connect(url) as conn:
        prepare_session(conn)
        return summarize(conn)


def _only_backup(directory: Path) -> Path:
    dumps = sorted(directory.glob("tapwork-*.dump"))
    assert len(dumps) == 1, dumps
    return dumps[0]


def _table_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_drill_restores_every_row_of_every_table(
    seeded: str, backup_dir: Path, new_database: Callable[[], str], base_settings: Settings
) -> None:
    dump = _only_backup(backup_dir)
    manifest = json.loads(dump.with_name(dump.stem + ".manifest.json").read_text())
    source = _summary(seeded)
    assert {name: TableSummary(**t) for name, t in manifest["tables"].items()} == source
    assert manifest["tables"]["public.users"]["rows"] >= 12
    assert manifest["tables"]["public.badges"]["rows"] >= 12
    assert manifest["schema_revision"]
    with dump.open("rb") as fh:
        assert fh.read(5) == b"PGDMP"  # pg_dump's custom format

    target = new_database()
    done = tapwork("restore", str(dump), url=target, settings=base_settings)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "every count and checksum equal" in done.stdout
    assert _summary(target) == source


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
    seeded: str,
    backup_dir: Path,
    new_database: Callable[[], str],
    base_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dump = _only_backup(backup_dir)
    target = new_database()
    code, out = in_process(monkeypatch, target, base_settings, "restore", str(dump))
    assert code == 0, out
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("DELETE FROM holidays")

    code, out = in_process(monkeypatch, target, base_settings, "restore", str(dump))
    assert code == 1
    assert "not empty" in out
    assert "--force" in out
    assert _summary(target)["public.holidays"].rows == 0  # nothing was touched

    code, out = in_process(monkeypatch, target, base_settings, "restore", str(dump), "--force")
    assert code == 0, out
    assert _summary(target) == _summary(seeded)


def test_restore_rejects_a_dump_that_does_not_match_its_manifest(
    backup_dir: Path,
    new_database: Callable[[], str],
    base_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = _only_backup(backup_dir)
    dump = tmp_path / original.name
    shutil.copy(original, dump)
    shutil.copy(original.with_name(original.stem + ".manifest.json"), tmp_path)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    target = new_database()
    code, out = in_process(monkeypatch, target, base_settings, "restore", str(dump))
    assert code == 1
    assert "does not match its manifest" in out
    assert _table_count(target) == 0


def test_keep_days_deletes_only_old_backups_of_this_tool(
    seeded: str, base_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "tapwork-tapwork-20200101T000000Z.dump"
    old_manifest = tmp_path / "tapwork-tapwork-20200101T000000Z.manifest.json"
    unrelated = tmp_path / "notes-20200101T000000Z.dump"
    for path in (old, old_manifest, unrelated):
        path.write_text("x")

    code, out = in_process(
        monkeypatch, seeded, base_settings, "backup", "--output", str(tmp_path), "--keep-days", "7"
    )
    assert code == 0, out
    assert not old.exists()
    assert not old_manifest.exists()
    assert unrelated.exists()
    assert _only_backup(tmp_path).exists()
    assert "Deleted old backup" in out
