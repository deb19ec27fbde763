"""`tapwork up`: the whole stack on one machine with one command.

Order of start: embedded PostgreSQL (unless DATABASE_URL is set) → mail catcher (unless
SMTP_HOST is set) → API (importing while) migrations run → worker → front ends. Ctrl-C, SIGTERM
or SIGHUP stops the front ends, API, worker, mail catcher, then PostgreSQL, so the worker can
still finish a delivery and nothing is left running. How children are started and stopped:
`processes.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from rich.console import Console
from starlette.applications import Starlette

from tapwork.config import Settings
from tapwork.devstack.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError, port_is_free
from tapwork.devstack.frontend import build_if_stale, create_static_app
from tapwork.devstack.processes import (
    BANNER_LABELS,
    HOST,
    PORT_ENV,
    READY_TIMEOUT_SECONDS,
    STATE_FILE,
    Child,
    Ports,
    StackFailed,
    answers,
    default_data_dir,
    die_with_parent,
    load_secrets,
    python_argv,
    tapwork_argv,
    uvicorn_argv,
)

__all__ = ["Ports", "StackFailed", "run_up", "web_app"]


class _Stop(Exception):  # a control-flow signal from SIGTERM/SIGINT, not an error
    pass


def web_app() -> Starlette:
    """uvicorn factory for port 3000: the front ends' static app, settings from the environment."""
    return create_static_app(Settings())


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
                preexec_fn=die_with_parent,
            ),
        )
        self.children.append(child)
        return child

    def start(self) -> None:
        secret_values = load_secrets(self.data_dir)
        embedded_db = not os.environ.get("DATABASE_URL")
        catcher = not os.environ.get("SMTP_HOST")
        p = self.ports
        wanted = [("api", "API")] + (
            [("smtp", "mail catcher SMTP"), ("inbox", "mail catcher inbox")] if catcher else []
        )
        for name, what in [*wanted, ("web", "front ends")]:
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
                python_argv(
                    "-m", "tapwork.devstack.mailcatcher", "--host", HOST,
                    "--smtp-port", str(p.smtp), "--http-port", str(p.inbox),
                ),
            )  # fmt: skip
            self.urls["inbox"] = f"http://localhost:{p.inbox}/"
        self.urls["smtp"] = f"{os.environ['SMTP_HOST']}:{os.environ.get('SMTP_PORT', '25')}"
        self._child_environment(secret_values)
        if Settings().biometric_enabled:
            # The optional face service (docs/biometric.md): before the API, which calls it.
            os.environ.setdefault("BIOMETRIC_URL", f"http://{HOST}:{p.biometric}")
            self._spawn(
                "face service",
                tapwork_argv("biometric", "--host", HOST, "--port", str(p.biometric)),
            )
            self.urls["face service"] = os.environ["BIOMETRIC_URL"]
        # The API imports while the migrations run; /ready stays 503 until they are done.
        self._spawn(
            "API", uvicorn_argv("tapwork.asgi:app", p.api, "--timeout-graceful-shutdown", "5")
        )
        self.urls["api"] = f"http://localhost:{p.api}/api/v1"
        self.urls["docs"] = f"http://localhost:{p.api}/docs"

        from tapwork.migration.bootstrap import migrate_database

        self.console.print("Applying migrations…")
        with self._phase("migrations"):
            asyncio.run(migrate_database(Settings()))
        if self.demo:
            from tapwork.devstack.demo import seed_demo

            asyncio.run(seed_demo(Settings(), employees=50, console=self.console))
        # After the migrations: the worker needs the job queue's tables.
        self._spawn("worker", tapwork_argv("worker"))
        self.console.print("Building the front ends if stale…")
        with self._phase("front-end build check"):
            try:
                build_if_stale()
            except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
                # The API and the inbox are still worth having while a front end is broken.
                self.console.print(
                    f"[red]Front-end build failed[/] ({exc}); serving the last build if any"
                )
        self._spawn(
            "front ends", uvicorn_argv("tapwork.devstack.stack:web_app", p.web, "--factory")
        )
        self.urls["kiosk"] = f"http://localhost:{p.web}/"
        self.urls["portal"] = f"http://localhost:{p.web}/portal/"
        with self._phase("waiting for the API"):
            self._wait_until_ready(catcher=catcher)
        self._write_state()

    def _child_environment(self, secret_values: dict[str, str]) -> None:
        # What the user exported wins; the rest is filled for a working local stack.
        for name in ("JWT_SECRET", "BADGE_SECRET", "BIOMETRIC_KEY", "BIOMETRIC_SECRET"):
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

    def _wait_until_ready(self, *, catcher: bool) -> None:
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
        ports = [*([self.ports.smtp, self.ports.inbox] if catcher else []), self.ports.web]
        for port in ports:
            while not answers(port):
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
        # Entry points first, then what the API calls (the face service), then the worker (it
        # may be finishing a delivery), then its SMTP.
        order = ["front ends", "API", "face service", "worker", "mail catcher"]
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
