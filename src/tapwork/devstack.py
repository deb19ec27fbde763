"""`tapwork up`: the whole stack on one machine with one command.

Order of start: embedded PostgreSQL (unless DATABASE_URL is set) → mail catcher (unless
SMTP_HOST is set) → API (importing while) migrations run → worker → front ends (when
`tapwork.frontend` exists). Ctrl-C, SIGTERM or SIGHUP stops the front ends, API, worker, mail
catcher, then PostgreSQL, so the worker can still finish a delivery and nothing is left running.

Every child runs in its own session: the terminal's Ctrl-C reaches only this supervisor, which
then stops the children one by one (instead of all of them racing the database's shutdown).
On Linux each child also gets PR_SET_PDEATHSIG, so even a SIGKILLed supervisor leaves no
orphans; a PostgreSQL orphaned that way is found and restarted on the next `tapwork up`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import importlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import urlsafe_b64encode
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from tapwork.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError, port_is_free

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 10.0
PORT_ENV = {
    "api": ("TAPWORK_UP_API_PORT", 8000),
    "smtp": ("TAPWORK_UP_SMTP_PORT", 1025),
    "inbox": ("TAPWORK_UP_INBOX_PORT", 8025),
    "web": ("TAPWORK_UP_WEB_PORT", 3000),
}
DB_PORT_ENV = "TAPWORK_UP_DB_PORT"
DATA_DIR_ENV = "TAPWORK_DATA_DIR"
SECRETS_FILE = "secrets.json"
STATE_FILE = "stack.json"
PR_SET_PDEATHSIG = 1
BANNER_LABELS = {"api": "API", "docs": "API docs", "smtp": "SMTP", "data dir": "Data dir"}


class StackFailed(RuntimeError):
    """A part of the stack could not start or died; the message says which and why."""


class _Stop(Exception):  # a control-flow signal from SIGTERM/SIGINT, not an error
    pass


@dataclass(frozen=True)
class Ports:
    api: int = 8000
    smtp: int = 1025
    inbox: int = 8025
    web: int = 3000
    db: int | None = None  # None: 5432 when free, else any free port

    @classmethod
    def from_env(cls, **overrides: int | None) -> Ports:
        values: dict[str, int | None] = {
            name: int(os.environ.get(env, default)) for name, (env, default) in PORT_ENV.items()
        }
        values["db"] = int(os.environ[DB_PORT_ENV]) if os.environ.get(DB_PORT_ENV) else None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def default_data_dir() -> Path:
    """TAPWORK_DATA_DIR, else /var/lib/tapwork as root (reachable by the postgres user), else
    the user's data folder (~/.local/share/tapwork on Linux)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    if os.geteuid() == 0:
        return Path("/var/lib/tapwork")
    import platformdirs

    return Path(platformdirs.user_data_dir("tapwork"))


def load_secrets(data_dir: Path) -> dict[str, str]:
    """Generated once per data dir and reused, so tokens and badges survive a restart."""
    path = data_dir / SECRETS_FILE
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    wanted: dict[str, Callable[[], str]] = {
        "jwt_secret": lambda: secrets.token_urlsafe(48),
        "badge_secret": lambda: secrets.token_urlsafe(48),
        # Fernet-shaped (url-safe base64 of 32 bytes) in case the key feeds a cipher.
        "biometric_key": lambda: urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "postgres_password": lambda: secrets.token_urlsafe(24),
    }
    missing = {name: make() for name, make in wanted.items() if name not in stored}
    if missing:
        stored.update(missing)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(stored, handle, indent=2)
    return stored


# Resolved here, in the parent: between fork and exec the child may only make the syscall.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    def exited(self) -> int | None:
        return self.process.poll()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        if self.process.poll() is not None:
            return
        # Its own process group: uvicorn or npm helpers it spawned go with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) == 0


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def _tapwork(*args: str) -> list[str]:
    # `python -c` rather than the console script: works from any venv layout.
    return _python("-c", "from tapwork.cli import app; app()", *args)


def _uvicorn(app: str, port: int, *options: str) -> list[str]:
    return _python(
        "-m", "uvicorn", app, "--host", HOST, "--port", str(port), "--no-access-log", *options
    )  # fmt: skip


def web_app() -> Any:
    """uvicorn factory for port 3000: the front-end helper's static app, settings from env."""
    from tapwork.config import Settings

    frontend = importlib.import_module("tapwork.frontend")
    return frontend.create_static_app(Settings())


@dataclass
class Stack:
    data_dir: Path
    ports: Ports
    console: Console
    demo: bool = False
    children: list[Child] = field(default_factory=list)
    postgres: EmbeddedPostgres | None = None
    urls: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.timings[name] = time.monotonic() - started

    # -- start ---------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str]) -> Child:
        child = Child(
            name,
            subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                argv,
                env=dict(os.environ),
                start_new_session=True,
                preexec_fn=_die_with_parent,
            ),
        )
        self.children.append(child)
        return child

    def start(self) -> None:
        secret_values = load_secrets(self.data_dir)
        embedded_db = not os.environ.get("DATABASE_URL")
        catcher = not os.environ.get("SMTP_HOST")
        has_worker = importlib.util.find_spec("tapwork.worker") is not None
        has_frontend = importlib.util.find_spec("tapwork.frontend") is not None
        p = self.ports
        wanted = [("api", "API")] + (
            [("smtp", "mail catcher SMTP"), ("inbox", "mail catcher inbox")] if catcher else []
        )
        for name, what in wanted + ([("web", "front ends")] if has_frontend else []):
            port = getattr(p, name)
            if not port_is_free(port, HOST):
                raise StackFailed(
                    f"Port {port} ({what}) is in use: free it or set {PORT_ENV[name][0]}"
                )

        if embedded_db:
            self.console.print("Starting PostgreSQL…")
            self.postgres = EmbeddedPostgres(
                self.data_dir, password=secret_values["postgres_password"], port=p.db
            )
            try:
                with self._phase("PostgreSQL"):
                    os.environ["DATABASE_URL"] = self.postgres.start()
            except EmbeddedPostgresError as exc:
                raise StackFailed(f"PostgreSQL: {exc} (log: {self.postgres.log_file})") from exc
        self.urls["database"] = os.environ["DATABASE_URL"]
        if catcher:
            os.environ["SMTP_HOST"], os.environ["SMTP_PORT"] = HOST, str(p.smtp)
            self._spawn(
                "mail catcher",
                _python(
                    "-m", "tapwork.mailcatcher", "--host", HOST,
                    "--smtp-port", str(p.smtp), "--http-port", str(p.inbox),
                ),
            )  # fmt: skip
            self.urls["inbox"] = f"http://localhost:{p.inbox}/"
        self.urls["smtp"] = f"{os.environ['SMTP_HOST']}:{os.environ.get('SMTP_PORT', '25')}"
        self._child_environment(secret_values)
        # The API imports while the migrations run; /ready stays 503 until they are done.
        self._spawn("API", _uvicorn("tapwork.asgi:app", p.api, "--timeout-graceful-shutdown", "5"))
        self.urls["api"] = f"http://localhost:{p.api}/api/v1"
        self.urls["docs"] = f"http://localhost:{p.api}/docs"

        from tapwork.bootstrap import migrate_database
        from tapwork.config import Settings

        self.console.print("Applying migrations…")
        with self._phase("migrations"):
            asyncio.run(migrate_database(Settings()))
        if self.demo:
            from tapwork.demo import seed_demo

            asyncio.run(seed_demo(Settings(), employees=50, console=self.console))
        if has_worker:  # after the migrations: it needs the job queue's tables
            self._spawn("worker", _tapwork("worker"))
        else:
            self.console.print("[yellow]No worker in this build: mail stays in the outbox[/]")
        if has_frontend:
            self.console.print("Building the front ends if stale…")
            with self._phase("front-end build check"):
                try:
                    importlib.import_module("tapwork.frontend").build_if_stale()
                except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
                    # The API and the inbox are still worth having while a front end is broken.
                    self.console.print(
                        f"[red]Front-end build failed[/] ({exc}); serving the last build if any"
                    )
            self._spawn("front ends", _uvicorn("tapwork.devstack:web_app", p.web, "--factory"))
            self.urls["kiosk"] = f"http://localhost:{p.web}/"
            self.urls["portal"] = f"http://localhost:{p.web}/portal/"
        with self._phase("waiting for the API"):
            self._wait_until_ready(catcher=catcher, frontend=has_frontend)
        self._write_state()

    def _child_environment(self, secret_values: dict[str, str]) -> None:
        # What the user exported wins; the rest is filled for a working local stack.
        for name in ("JWT_SECRET", "BADGE_SECRET", "BIOMETRIC_KEY"):
            if not os.environ.get(name) and not os.environ.get(f"{name}_FILE"):
                os.environ[name] = secret_values[name.lower()]
        web = f"http://localhost:{self.ports.web}"
        defaults = {
            "PUBLIC_URL": web,
            "API_URL": f"http://localhost:{self.ports.api}",
            "CORS_ORIGINS": f"{web},http://127.0.0.1:{self.ports.web}",
            "LOG_JSON": "false",
            "PYTHONUNBUFFERED": "1",
        }
        for name, value in defaults.items():
            os.environ.setdefault(name, value)

    def _wait_until_ready(self, *, catcher: bool, frontend: bool) -> None:
        until = time.monotonic() + READY_TIMEOUT_SECONDS
        ready_url = f"http://{HOST}:{self.ports.api}/ready"
        while True:
            self.check_children()
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(ready_url, timeout=2) as response,
            ):
                if response.status == 200:
                    break
            if time.monotonic() > until:
                raise StackFailed(f"The API did not become ready within {READY_TIMEOUT_SECONDS}s")
            time.sleep(0.1)
        ports = ([self.ports.smtp, self.ports.inbox] if catcher else []) + (
            [self.ports.web] if frontend else []
        )
        for port in ports:
            while not _answers(port):
                self.check_children()
                if time.monotonic() > until:
                    raise StackFailed(f"Nothing answers on port {port}")
                time.sleep(0.05)

    def _write_state(self) -> None:
        state = {
            "urls": self.urls,
            "pids": {c.name: c.process.pid for c in self.children},
            "postgres_pid": self.postgres.postmaster_pid() if self.postgres else None,
            "supervisor_pid": os.getpid(),
        }
        (self.data_dir / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")

    def check_children(self) -> None:
        for child in self.children:
            code = child.exited()
            if code is not None:
                raise StackFailed(f"{child.name} exited with code {code}; see its output above")

    # -- run and stop --------------------------------------------------------------------
    def banner(self) -> None:
        self.urls["data dir"] = str(self.data_dir)
        self.console.rule("[bold green]TAPWORK is up")
        for key in ("api", "docs", "kiosk", "portal", "inbox", "smtp", "database", "data dir"):
            if key in self.urls:
                label = BANNER_LABELS.get(key, key.capitalize())
                line = f"  [bold]{label:<9}[/] {self.urls[key]}"
                self.console.print(line, soft_wrap=True, highlight=False)
        self.console.print("  Press Ctrl-C to stop.")

    def supervise(self) -> None:
        while True:
            self.check_children()
            time.sleep(0.5)

    def stop(self) -> None:
        # Entry points first, then the worker (it may be finishing a delivery), then its SMTP.
        order = ["front ends", "API", "worker", "mail catcher"]
        for child in sorted(self.children, key=lambda c: order.index(c.name)):
            child.stop()
        self.children.clear()
        if self.postgres is not None:
            self.postgres.stop()
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / STATE_FILE).unlink()


@contextlib.contextmanager
def _exclusive(data_dir: Path) -> Iterator[None]:
    """One `tapwork up` per data dir: a second would stop the first one's database."""
    with (data_dir / "up.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StackFailed(f"Another `tapwork up` is using {data_dir}") from exc
        yield


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_up(
    data_dir: Path | None = None,
    *,
    ports: Ports | None = None,
    demo: bool = False,
    console: Console | None = None,
) -> None:
    """Start everything, print the URLs, run until SIGINT/SIGTERM, then stop everything."""
    console = console or Console()
    data_dir = (data_dir or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    stack = Stack(data_dir, ports or Ports.from_env(), console, demo=demo)
    # SIGHUP too: closing the terminal should stop the stack, not strand PostgreSQL.
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, _raise_stop) for s in handled}
    failed: StackFailed | None = None
    try:
        with _exclusive(data_dir):
            try:
                stack.start()
                stack.banner()
                phases = ", ".join(f"{k} {v:.1f}s" for k, v in stack.timings.items())
                console.print(
                    f"  Ready in {time.monotonic() - started:.1f}s ({phases})",
                    highlight=False,
                    soft_wrap=True,
                )
                stack.supervise()
            except (_Stop, KeyboardInterrupt):
                pass
            except StackFailed as exc:
                failed = exc
            finally:
                # A second Ctrl-C must not cut the orderly stop short (each step is bounded).
                for s in previous:
                    signal.signal(s, signal.SIG_IGN)
                console.print("Stopping…")
                stack.stop()
    except StackFailed as exc:
        failed = exc
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if failed is not None:
        console.print(f"[red]tapwork up failed:[/] {failed}", highlight=False)
        raise SystemExit(1)
    console.print("Stopped.")
