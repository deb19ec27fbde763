"""A real PgBouncer (Debian package `pgbouncer`) in transaction pooling mode, started by the
test in front of the test PostgreSQL server: what a production deployment with a pooler
(PgBouncer, CloudNativePG's Pooler) puts between the service and the database."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from tapwork.devstack.embedded_pg import free_port


def binary() -> str:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if found is None:
        raise RuntimeError("pgbouncer is not installed (./dev test installs the Debian package)")
    return found


@dataclass
class PgBouncer:
    server_url: str  # libpq URL of the PostgreSQL server behind it
    pool_mode: str = "transaction"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None

    def url(self, database: str) -> str:
        user = conninfo_to_dict(self.server_url).get("user") or "postgres"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PgBouncer:
        params = conninfo_to_dict(self.server_url)
        host, port = params.get("host") or "127.0.0.1", params.get("port") or "5432"
        user = params.get("user") or "postgres"
        self.workdir = Path(tempfile.mkdtemp(prefix="tapwork-pgbouncer-"))
        self.port = free_port()
        (self.workdir / "userlist.txt").write_text(f'"{user}" ""\n')
        (self.workdir / "pgbouncer.ini").write_text(
            f"""[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.workdir}/userlist.txt
admin_users = {user}
pool_mode = {self.pool_mode}
max_client_conn = 500
default_pool_size = 8
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
logfile = {self.workdir}/pgbouncer.log
pidfile = {self.workdir}/pgbouncer.pid
"""
        )
        command = [binary(), "-q"]  # its log goes to the file only
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root; Debian's postgresql packages bring this user.
            owner = pwd.getpwnam("postgres")
            os.chown(self.workdir, owner.pw_uid, owner.pw_gid)
            for path in self.workdir.iterdir():
                os.chown(path, owner.pw_uid, owner.pw_gid)
            command += ["-u", "postgres"]
        self.proc = subprocess.Popen([*command, str(self.workdir / "pgbouncer.ini")])
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    log = (self.workdir / "pgbouncer.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"pgbouncer did not start: {log}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
