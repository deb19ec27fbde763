"""A throwaway PostgreSQL for the suite when TAPWORK_TEST_DATABASE_URL is not given.

Uses the system's PostgreSQL binaries when present (initdb as the postgres user if we are
root), else the `pgserver` package. fsync is off: the data is thrown away.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tapwork.devstack.embedded_pg import free_port


def _bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    found = shutil.which("initdb")
    paths = [Path(c).parent for c in candidates] + ([Path(found).parent] if found else [])
    return paths[0] if paths else None


@dataclass
class ThrowawayPostgres:
    url: str
    _stop: list[str] | None = None
    _dir: str | None = None
    _pgserver: object | None = None

    def stop(self) -> None:
        if self._stop:
            subprocess.run(self._stop, check=False, capture_output=True)
        if self._pgserver is not None:
            self._pgserver.cleanup()  # type: ignore[attr-defined]
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


def start() -> ThrowawayPostgres:
    bin_dir = _bin_dir()
    if bin_dir is None:
        import pgserver

        data = tempfile.mkdtemp(prefix="tapwork-pgserver-")
        server = pgserver.get_server(data, cleanup_mode="stop")  # type: ignore[attr-defined]
        uri = server.get_uri()
        return ThrowawayPostgres(url=uri, _dir=data, _pgserver=server)

    root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if root else []
    data = tempfile.mkdtemp(prefix="tapwork-pg-", dir="/tmp")
    if root:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            data,
            "--no-sync",
            "-A",
            "trust",
            "-U",
            "postgres",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "pg_ctl"),
            "-D",
            data,
            "-w",
            "-l",
            f"{data}/log",
            "-o",
            options,
            "start",
        ],
        check=True,
        capture_output=True,
    )
    stop = [*prefix, str(bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"]
    return ThrowawayPostgres(
        url=f"postgresql://postgres@127.0.0.1:{port}/postgres", _stop=stop, _dir=data
    )
