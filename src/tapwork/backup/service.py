"""Back up and restore the whole database with pg_dump/pg_restore (custom format).

A backup is two files: `tapwork-<db>-<UTC time>.dump` and its `.manifest.json` (row count and
checksum of every table, read in the snapshot the dump was taken from, and the dump's sha256).
A restore checks the dump against the manifest, refuses a database that already holds tables
unless forced, restores in one transaction and then proves every table equal to the manifest.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.conninfo import conninfo_to_dict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tapwork.backup.manifest import (
    Manifest,
    TableSummary,
    differences,
    prepare_session,
    schema_revision,
    sha256_of,
    summarize,
)
from tapwork.backup.storage import S3Settings, S3Store

DUMP_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"
_NAME = re.compile(r"^tapwork-.+-(\d{8}T\d{6}Z)(\.dump|\.manifest\.json)$")
_DUMPED = re.compile(r'dumping contents of table "([^"]+)"')
_RESTORED = re.compile(r'processing data for table "([^"]+)"')


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    dump: Path
    manifest: Manifest
    uploaded: list[str]
    pruned: list[str]


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    tables: dict[str, TableSummary]


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name.removesuffix(DUMP_SUFFIX) + MANIFEST_SUFFIX)


def _libpq_env(url: str) -> tuple[dict[str, str], str]:
    """Connection settings for pg_dump/pg_restore as PG* variables: the password never appears
    on a command line (where `ps` would show it)."""
    params = conninfo_to_dict(url)
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD"}
    env = {**os.environ}
    for key, var in names.items():
        if params.get(key):
            env[var] = str(params[key])
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if params.get(key):
            env["PG" + key.upper()] = str(params[key])
    database = str(params.get("dbname") or "")
    env["PGDATABASE"] = database
    return env, database


def _tool(name: str) -> str:
    # Debian keeps the versioned client tools outside PATH when several are installed.
    found = shutil.which(name) or next(
        (
            str(path)
            for path in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
        ),
        None,
    )
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client)")
    return found


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _run_with_progress(
    args: list[str], env: dict[str, str], pattern: re.Pattern[str], advance: Any
) -> None:
    """Run a pg tool in verbose mode; each table it reports advances the bar."""
    proc = subprocess.Popen(  # noqa: S603 - fixed tool, arguments built here
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    errors: list[str] = []
    for line in proc.stderr:
        if pattern.search(line):
            advance()
        elif "error" in line.lower() or "fatal" in line.lower():
            errors.append(line.strip())
    if proc.wait() != 0:
        detail = "; ".join(errors[-5:]) or f"exit code {proc.returncode}"
        raise BackupError(f"{Path(args[0]).name} failed: {detail}")


def backup(
    url: str,
    output: Path,
    *,
    keep_days: int | None = None,
    s3: S3Settings | None = None,
    console: Console,
    now: datetime | None = None,
) -> BackupResult:
    pg_dump = _tool("pg_dump")
    env, database = _libpq_env(url)
    now = now or datetime.now(UTC)
    output.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    dump = output / f"tapwork-{database}-{stamp}{DUMP_SUFFIX}"
    partial = dump.with_name(dump.name + ".partial")

    with psycopg.connect(url, autocommit=False) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        prepare_session(conn)
        # pg_dump reads the snapshot this transaction holds, so the manifest computed here
        # describes exactly the rows in the dump, whatever is written meanwhile.
        row = conn.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        snapshot, server_version = row.fetchone() or ("", "")
        table_count = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
        total = int(table_count[0]) if table_count else 0
        with _progress(console) as progress:
            task = progress.add_task(f"Dumping {database}", total=total)
            try:
                _run_with_progress(
                    [
                        pg_dump,
                        "--format=custom",
                        "--verbose",
                        f"--snapshot={snapshot}",
                        f"--file={partial}",
                    ],
                    env,
                    _DUMPED,
                    lambda: progress.advance(task),
                )
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            progress.update(task, completed=total)
            check = progress.add_task("Counting and checksumming", total=1)
            tables = summarize(conn)
            revision = schema_revision(conn)
            progress.update(check, completed=1)
        conn.rollback()

    partial.rename(dump)
    manifest = Manifest(
        dump_file=dump.name,
        dump_sha256=sha256_of(dump),
        dump_bytes=dump.stat().st_size,
        created_at=now.isoformat(),
        database=database,
        server_version=str(server_version),
        schema_revision=revision,
        tables=tables,
    )
    manifest.write(manifest_path(dump))

    uploaded: list[str] = []
    pruned: list[str] = []
    store = S3Store(s3) if s3 is not None and s3.enabled else None
    if store is not None:
        for path in (dump, manifest_path(dump)):
            uploaded.append(store.upload(path))
    if keep_days is not None:
        cutoff = now - timedelta(days=keep_days)
        pruned.extend(_prune_local(output, cutoff, keep=dump.name))
        if store is not None:
            pruned.extend(_prune_s3(store, cutoff))
    return BackupResult(dump=dump, manifest=manifest, uploaded=uploaded, pruned=pruned)


def _stamp_of(name: str) -> datetime | None:
    match = _NAME.match(name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _prune_local(output: Path, cutoff: datetime, *, keep: str) -> list[str]:
    """Delete this tool's backups older than the cutoff (by the time in their name, which is
    when the snapshot was taken); other files in the directory are never touched."""
    removed = []
    for path in sorted(output.iterdir()):
        stamp = _stamp_of(path.name)
        if stamp is not None and stamp < cutoff and path.name != keep:
            path.unlink()
            removed.append(str(path))
    return removed


def _prune_s3(store: S3Store, cutoff: datetime) -> list[str]:
    old = []
    for key, _modified in store.objects():
        stamp = _stamp_of(key.rsplit("/", 1)[-1])
        if stamp is not None and stamp < cutoff:
            old.append(key)
    store.delete(old)
    return [f"s3://{store.settings.bucket}/{key}" for key in old]


@contextmanager
def fetched(location: str, s3: S3Settings, workdir: Path) -> Iterator[Path]:
    """A local path for the dump named by `location` (a file, or s3://bucket/key)."""
    if not location.startswith("s3://"):
        yield Path(location)
        return
    bucket, _, key = location.removeprefix("s3://").partition("/")
    store = S3Store(s3.model_copy(update={"bucket": bucket}))
    dump = workdir / key.rsplit("/", 1)[-1]
    store.download(key, dump)
    store.download(key.removesuffix(DUMP_SUFFIX) + MANIFEST_SUFFIX, manifest_path(dump))
    yield dump


def _user_tables(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
    ).fetchone()
    return int(row[0]) if row else 0


def restore(url: str, dump: Path, *, force: bool = False, console: Console) -> RestoreResult:
    pg_restore = _tool("pg_restore")
    env, database = _libpq_env(url)
    if not dump.is_file():
        raise BackupError(f"{dump} does not exist")
    manifest_file = manifest_path(dump)
    if not manifest_file.is_file():
        raise BackupError(f"{manifest_file.name} not found beside {dump.name}")
    manifest = Manifest.read(manifest_file)
    if sha256_of(dump) != manifest.dump_sha256:
        raise BackupError(f"{dump.name} does not match its manifest (sha256 differs): corrupt?")

    with psycopg.connect(url, autocommit=True) as conn:
        existing = _user_tables(conn)
    if existing and not force:
        raise BackupError(
            f"Database {database!r} is not empty ({existing} tables); "
            "restore into an empty database, or pass --force to replace its contents"
        )

    args = [pg_restore, "--verbose", "--exit-on-error", "--single-transaction", "--no-owner"]
    if force:
        args += ["--clean", "--if-exists"]
    with _progress(console) as progress:
        task = progress.add_task(f"Restoring into {database}", total=len(manifest.tables))
        _run_with_progress(
            [*args, f"--dbname={database}", str(dump)],
            env,
            _RESTORED,
            lambda: progress.advance(task),
        )
        progress.update(task, completed=len(manifest.tables))
        check = progress.add_task("Verifying counts and checksums", total=1)
        with psycopg.connect(url, autocommit=False) as conn:
            conn.isolation_level = IsolationLevel.REPEATABLE_READ
            prepare_session(conn)
            tables = summarize(conn)
            conn.rollback()
        progress.update(check, completed=1)
    diff = differences(manifest.tables, tables)
    if diff:
        raise BackupError("Restored data differs from the manifest:\n" + "\n".join(diff))
    return RestoreResult(manifest=manifest, tables=tables)
