"""The parts `tapwork up` supervises: ports, the data dir's secrets, child processes.

Every child runs in its own session: the terminal's Ctrl-C reaches only the supervisor, which
then stops the children one by one (instead of all of them racing the database's shutdown).
On Linux each child also gets PR_SET_PDEATHSIG, so even a SIGKILLed supervisor leaves no
orphans; a PostgreSQL orphaned that way is found and restarted on the next `tapwork up`.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 10.0
PORT_ENV = {
    "api": ("TAPWORK_UP_API_PORT", 8000),
    "smtp": ("TAPWORK_UP_SMTP_PORT", 1025),
    "inbox": ("TAPWORK_UP_INBOX_PORT", 8025),
    "web": ("TAPWORK_UP_WEB_PORT", 3000),
    "biometric": ("TAPWORK_UP_BIOMETRIC_PORT", 8100),
}
DB_PORT_ENV = "TAPWORK_UP_DB_PORT"
DATA_DIR_ENV = "TAPWORK_DATA_DIR"
SECRETS_FILE = "secrets.json"
STATE_FILE = "stack.json"
PR_SET_PDEATHSIG = 1
BANNER_LABELS = {"api": "API", "docs": "API docs", "smtp": "SMTP", "data dir": "Data dir"}


class StackFailed(RuntimeError):
    """A part of the stack could not start or died; the message says which and why."""


@dataclass(frozen=True)
class Ports:
    api: int = 8000
    smtp: int = 1025
    inbox: int = 8025
    web: int = 3000
    biometric: int = 8100  # the face service, started only with BIOMETRIC_ENABLED
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
        # Shared by the API and the face service (only started with BIOMETRIC_ENABLED).
        "biometric_secret": lambda: secrets.token_urlsafe(48),
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


def die_with_parent() -> None:
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


def answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) == 0


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]


def tapwork_argv(*args: str) -> list[str]:
    # `python -c` rather than the console script: works from any venv layout.
    return python_argv("-c", "from tapwork.cli import app; app()", *args)


def uvicorn_argv(app: str, port: int, *options: str) -> list[str]:
    return python_argv(
        "-m", "uvicorn", app, "--host", HOST, "--port", str(port), "--no-access-log", *options
    )  # fmt: skip
