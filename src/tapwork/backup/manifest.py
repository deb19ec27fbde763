"""What a backup promises: every table's row count and content checksum, read in the very
snapshot pg_dump dumps, so a restore can prove it brought back exactly that."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

MANIFEST_VERSION = 1
# Order-independent and streaming: the sum of each row's hash (60 bits of the md5 of its text
# form), so neither the physical row order nor the table's size changes how it is computed.
_CHECKSUM = (
    "SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)"
    "::text FROM {} AS t"
)
_TABLES = """
SELECT table_schema, table_name FROM information_schema.tables
WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY table_schema, table_name
"""


@dataclass(frozen=True)
class TableSummary:
    rows: int
    checksum: str


@dataclass
class Manifest:
    dump_file: str
    dump_sha256: str
    dump_bytes: int
    created_at: str
    database: str
    server_version: str
    schema_revision: str | None
    tables: dict[str, TableSummary] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", "utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
        tables = {name: TableSummary(**t) for name, t in data.pop("tables").items()}
        return cls(**data, tables=tables)


def prepare_session(conn: psycopg.Connection[Any]) -> None:
    # A row's text form depends on these; dump and restore must read it the same way.
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET extra_float_digits = 3")
    conn.execute("SET datestyle = 'ISO, YMD'")
    conn.execute("SET intervalstyle = 'postgres'")


def summarize(conn: psycopg.Connection[Any]) -> dict[str, TableSummary]:
    """Row count and checksum of every table, in the connection's current transaction."""
    tables = conn.execute(_TABLES).fetchall()
    result: dict[str, TableSummary] = {}
    for schema, name in tables:
        query = sql.SQL(_CHECKSUM).format(sql.Identifier(schema, name))
        row = conn.execute(query).fetchone()
        assert row is not None
        result[f"{schema}.{name}"] = TableSummary(rows=int(row[0]), checksum=str(row[1]))
    return result


def schema_revision(conn: psycopg.Connection[Any]) -> str | None:
    exists = conn.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def differences(expected: dict[str, TableSummary], actual: dict[str, TableSummary]) -> list[str]:
    """Human-readable lines for every table whose count or checksum differs (empty: equal)."""
    lines = []
    for name in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(name), actual.get(name)
        if want is None:
            lines.append(f"{name}: not in the backup")
        elif got is None:
            lines.append(f"{name}: missing after restore")
        elif want != got:
            lines.append(
                f"{name}: {got.rows} rows (checksum {got.checksum}), "
                f"expected {want.rows} (checksum {want.checksum})"
            )
    return lines
