"""A PostgreSQL server owned by `tapwork up`: its data survives restarts, it listens on 127.0.0.1.

System binaries (/usr/lib/postgresql/*/bin, or pg_ctl on PATH) are preferred; the `pgserver`
wheel's bundled binaries are the zero-setup fallback. initdb refuses to run as root, so as root
every server command runs as the `postgres` system user (created if missing) through `runuser`,
and the folders above the data directory get the traverse bit so that user can reach it.

The superuser password is generated once and kept next to the data; host connections use
scram-sha-256 and there is no Unix socket, so other local users cannot walk in.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import random
import re
import shutil
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_PORT = 5432
DATABASE = "tapwork"
SUPERUSER = "postgres"
RUN_AS_USER = "postgres"
START_TIMEOUT_SECONDS = 60


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be set up or started; the message says why."""


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/", path)
    return tuple(int(p) for p in match.group(1).split(".")) if match else (0,)


def find_binaries() -> tuple[Path, str]:
    """(bin dir, where it came from): the newest system PostgreSQL, else pgserver's."""
    system = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version_key)
    if system:
        return Path(system[-1]).parent, "system"
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent, "system"
    # Located, not imported: importing pgserver starts its own machinery and warns.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "No PostgreSQL binaries: install PostgreSQL or the pgserver package, "
            "or set DATABASE_URL"
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin", "pgserver"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen there now (connections in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, chosen below the kernel's ephemeral range.

    A port the kernel hands out for `bind(0)` is an ephemeral one: between choosing it and a
    server binding it, any outgoing connection on the machine may take it as its local port.
    """
    low = _ephemeral_low()
    if low > 11000:
        rng = random.SystemRandom()
        for _ in range(50):
            port = rng.randrange(10000, low)
            if port_is_free(port, host):
                return port
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(  # noqa: S603 - fixed argv, no shell
            [
                "/usr/sbin/useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _allow_traverse(path: Path) -> None:
    """o+x (never o+r) on `path` and its parents, so the server's user can reach its data."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    password: str
    port: int | None = None
    host: str = "127.0.0.1"
    binaries: Path | None = None  # a PostgreSQL bin dir; None: find_binaries()

    def __post_init__(self) -> None:
        self.bin_dir, self.source = find_binaries()
        if self.binaries is not None:
            self.bin_dir = self.binaries
            self.source = "pgserver" if "pgserver" in self.binaries.parts else "system"
        self.pgdata = self.data_dir / "postgres"
        self.log_file = self.data_dir / "postgres.log"
        self._root = os.geteuid() == 0
        self._user: pwd.struct_passwd | None = None
        self._started = False

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@{self.host}:{self.port}/{DATABASE}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self._user.pw_name, "--"] if self._user else []
        try:
            return subprocess.run(  # noqa: S603 - our own binaries, no shell
                [*prefix, *args],
                check=check,
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT_SECONDS + 30,
            )
        except subprocess.CalledProcessError as exc:
            raise EmbeddedPostgresError(
                f"{Path(args[0]).name} failed ({exc.returncode}): {exc.stderr.strip()}"
            ) from exc

    def _prepare_folders(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self._root:
            return
        self._user = _ensure_system_user(RUN_AS_USER)
        _allow_traverse(self.data_dir)
        if self.source == "pgserver":
            _allow_traverse(self.bin_dir)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self.log_file.touch(mode=0o600, exist_ok=True)
        for path in (self.pgdata, self.log_file):
            os.chown(path, self._user.pw_uid, self._user.pw_gid)

    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def _initdb(self) -> None:
        # The password reaches initdb through a file only its user can read, never argv.
        pwfile = self.data_dir / ".initdb-password"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        if self._user:
            os.chown(pwfile, self._user.pw_uid, self._user.pw_gid)
        try:
            self._run(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                "--encoding=UTF8",
                "--locale=C",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        result = self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "status", check=False
        )
        return result.returncode == 0

    def start(self) -> str:
        """Initialise on first use, start, create the `tapwork` database; returns its URL."""
        self._prepare_folders()
        if not self.initialised:
            self._initdb()
        elif self.is_running():
            # Left over from a `tapwork up` that was killed: restart it on the port we choose.
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "stop")
        if self.port is None:
            self.port = DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()
        elif not port_is_free(self.port):
            raise EmbeddedPostgresError(f"Port {self.port} is in use; choose another")
        options = f"-p {self.port} -c listen_addresses={self.host} -c unix_socket_directories=''"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "-o",
            options,
            "start",
        )
        self._started = True
        try:
            self._create_database()
        except psycopg.OperationalError as exc:
            raise EmbeddedPostgresError(
                f"cannot connect to the embedded server ({exc}). Its password lives in "
                f"{self.data_dir}/secrets.json: if that file was removed, remove "
                f"{self.pgdata} too (a fresh database) or restore it"
            ) from exc
        return self.url

    def _create_database(self) -> None:
        admin_url = self.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))

    def stop(self) -> None:
        """Fast shutdown: open transactions roll back, committed data is on disk."""
        if self._root and self._user is None:
            with contextlib.suppress(KeyError):
                self._user = pwd.getpwnam(RUN_AS_USER)
        # Also when `start` was interrupted (Ctrl-C) after pg_ctl had launched the server.
        if not self._started and not self.is_running():
            return
        self._started = False
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.pgdata),
            "-m",
            "fast",
            "-w",
            "stop",
            check=False,
        )

    def postmaster_pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            return int(pid_file.read_text(encoding="utf-8").split("\n", 1)[0])
        except (OSError, ValueError):
            return None
