"""Databases of their own for backup drills: a seeded source and empty restore targets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tapwork.config import Settings
from tapwork.migration.revisions import upgrade

TAPWORK = str(Path(sys.executable).with_name("tapwork"))


def _with_db(server_url: str, name: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="module")
def new_database(server_url: str) -> Iterator[Callable[[], str]]:
    """Makes empty databases (libpq URLs) and drops them after the test."""
    made: list[str] = []

    def make() -> str:
        name = f"tapwork_backup_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return _with_db(server_url, name)

    yield make
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_tools_path() -> str:
    """PATH with pg_dump on it: the system's, else (a fresh machine where the suite runs its
    own server from the pgserver package) the tools that package ships beside its server."""
    path = os.environ.get("PATH", "")
    if shutil.which("pg_dump") is None and not list(Path("/usr/lib/postgresql").glob("*/bin")):
        import pgserver

        path = f"{Path(pgserver.__file__).parent / 'pginstall' / 'bin'}:{path}"
    return path


def cli_env(url: str, settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP_S3_")}
    env["PATH"] = _pg_tools_path()
    return {
        **env,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": url,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "COLUMNS": "160",
        **extra,
    }


def tapwork(
    *args: str, url: str, settings: Settings, **extra: str
) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process."""
    return subprocess.run(
        [TAPWORK, *args],
        env=cli_env(url, settings, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def seeded(new_database: Callable[[], str], base_settings: Settings) -> str:
    """A database at head holding the demo organisation (users, badges, kiosks, records)."""
    url = new_database()
    upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
    done = tapwork("seed-demo", "--employees", "12", url=url, settings=base_settings)
    assert done.returncode == 0, done.stderr + done.stdout
    return url


@pytest.fixture(scope="module")
def backup_dir(
    seeded: str, base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """One backup of the seeded database, made by the real command."""
    directory = tmp_path_factory.mktemp("backups")
    done = tapwork("backup", "--output", str(directory), url=seeded, settings=base_settings)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Backup written" in done.stdout
    return directory


def in_process(
    monkeypatch: pytest.MonkeyPatch, url: str, settings: Settings, *args: str, **extra: str
) -> tuple[int, str]:
    """The command in this process (Typer's runner): for cases that need no second process."""
    from typer.testing import CliRunner

    from tapwork.cli import app

    for key, value in cli_env(url, settings, **extra).items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output
