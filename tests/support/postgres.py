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
    # pg_ctl with its user and data directory, and the server's options: to take the server
    # down and bring it back on the same port and data (the outage tests).
    _ctl: list[str] | None = None

    def halt(self) -> None:
        """Stop the server as a restart or failover does: sessions are cut, data is kept."""
        assert self._ctl is not None
        subprocess.run([*self._ctl, "-w", "-m", "fast", "stop"], check=True, capture_output=True)

    def resume(self) -> None:
        """Start the halted server again, on the same port and data."""
        assert self._ctl is not None
        assert self._dir is not None
        # `restart` on a stopped server starts it with the options it last ran with
        # (postmaster.opts), whoever chose them (us or pgserver).
        subprocess.run(
            [*self._ctl, "-w", "-l", f"{self._dir}/restart.log", "restart"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

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
        from pgserver._commands import POSTGRES_BIN_PATH

        data = tempfile.mkdtemp(prefix="tapwork-pgserver-")
        server = pgserver.get_server(data, cleanup_mode="stop")  # type: ignore[attr-defined]
        uri = server.get_uri()
        user = server.system_user
        ctl = [*(["runuser", "-u", user, "--"] if user else []), str(POSTGRES_BIN_PATH / "pg_ctl")]
        # pgserver started it with its own options, which pg_ctl keeps in postmaster.opts.
        return ThrowawayPostgres(url=uri, _dir=data, _pgserver=server, _ctl=[*ctl, "-D", data])

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
        url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
        _stop=stop,
        _dir=data,
        _ctl=[*prefix, str(bin_dir / "pg_ctl"), "-D", data],
    )
