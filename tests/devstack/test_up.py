"""`tapwork up` as a real process: embedded PostgreSQL, mail catcher, API, front ends.

Free ports and a data dir under /tmp (as root the postgres user must reach it). Each test
starts the real command, waits for /ready, and checks that a signal leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tapwork.devstack.embedded_pg import free_port, port_is_free
from tests.support.smtp import SmtpServer

START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
TAPWORK = str(Path(sys.executable).parent / "tapwork")


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has already exited


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


@dataclass
class Up:
    data_dir: Path
    ports: dict[str, int] = field(
        default_factory=lambda: {n: free_port() for n in ("api", "smtp", "inbox", "web", "db")}
    )
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # exported for `tapwork up`
    _interrupt_at: str | None = None
    _interrupt_with: signal.Signals = signal.SIGINT
    interrupted: set[int] = field(default_factory=set)  # processes running when interrupted

    def start(self, *options: str) -> dict[str, Any]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "SMTP_HOST", "SMTP_PORT", "TAPWORK_DATA_DIR"}
        }
        env.update({f"TAPWORK_UP_{name.upper()}_PORT": str(p) for name, p in self.ports.items()})
        env.update(self.env)
        self.log = self.data_dir / f"up-{time.monotonic_ns()}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [TAPWORK, "up", "--data-dir", str(self.data_dir), *options],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        state_file = self.data_dir / "stack.json"
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"tapwork up exited:\n{self.output()}"
            if state_file.exists() and "Ready in" in self.output():
                state: dict[str, Any] = json.loads(state_file.read_text())
                return state
            if self._interrupt_at and self._interrupt_at in self.output():
                self.interrupted = _descendants(self.process.pid)
                self.process.send_signal(self._interrupt_with)
                self.process.wait(STOP_TIMEOUT)
            time.sleep(0.05)
        raise AssertionError(f"not ready in {START_TIMEOUT}s:\n{self.output()}")

    def start_until(self, text: str, *, then: signal.Signals) -> None:
        """Start, and send `then` as soon as `text` is printed (mid start-up)."""
        self._interrupt_at, self._interrupt_with = text, then
        try:
            self.start()
        finally:
            self._interrupt_at = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""

    def stop(self, sig: signal.Signals) -> set[int]:
        """Send `sig`; return every process the stack had (all must be gone afterwards)."""
        assert self.process is not None
        state = json.loads((self.data_dir / "stack.json").read_text())
        pids = _descendants(self.process.pid) | {state["postgres_pid"]}
        self.process.send_signal(sig)
        code = self.process.wait(STOP_TIMEOUT)
        assert code == 0, self.output()
        return pids

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def up() -> Iterator[Up]:
    data_dir = Path(tempfile.mkdtemp(prefix="tapwork-up-", dir="/tmp"))
    stack = Up(data_dir)
    yield stack
    stack.kill()
    shutil.rmtree(data_dir, ignore_errors=True)


def _answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _assert_all_gone(pids: set[int], ports: dict[str, int]) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not [p for p in pids if _alive(p)], "processes left running"
    assert [n for n, p in ports.items() if not port_is_free(p)] == [], "ports still bound"


# The first start may install and build the front ends (npm), which takes a while.
@pytest.mark.timeout(300)
def test_up_serves_the_stack_and_ctrl_c_stops_everything(up: Up) -> None:
    state = up.start("--demo")
    api = f"http://127.0.0.1:{up.ports['api']}"
    assert httpx.get(f"{api}/ready").json()["status"] == "ok"
    # --demo seeded the organisation; its printed admin password signs in through the API.
    # Only the table's spaces and rules lie between (a URL-safe password may begin with "-").
    password = re.search(r"admin@example\.com[\s│]+(\S+)", up.output())
    assert password, up.output()
    login = httpx.post(
        f"{api}/api/v1/auth/login",
        json={"email": "admin@example.com", "password": password.group(1)},
    )
    assert login.status_code == 200, login.text
    assert login.json()["access_token"]
    # API → outbox → worker → mail catcher: the wiring between the children, end to end.
    reset = httpx.post(f"{api}/api/v1/auth/password-reset", json={"email": "admin@example.com"})
    assert reset.status_code == 202, reset.text
    inbox = f"http://127.0.0.1:{up.ports['inbox']}"
    deadline = time.monotonic() + 30
    while not (mails := httpx.get(f"{inbox}/api/messages?to=admin@example.com").json()["items"]):
        assert time.monotonic() < deadline, f"no reset mail delivered:\n{up.output()}"
        time.sleep(0.2)
    body = httpx.get(f"{inbox}/api/messages/{mails[0]['id']}").json()["text"]
    assert f"http://localhost:{up.ports['web']}/portal/reset-password?token=" in body
    assert httpx.get(f"{api}/docs").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{up.ports['web']}/").status_code == 200
    banner = up.output()
    for url in (f"localhost:{up.ports['api']}/docs", f"localhost:{up.ports['inbox']}", "Portal"):
        assert url in banner
    assert f"127.0.0.1:{up.ports['db']}/tapwork" in banner

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Hola"
    message.set_content("plain words")
    message.add_alternative("<p>html <b>words</b></p>", subtype="html")
    with smtplib.SMTP("127.0.0.1", up.ports["smtp"], timeout=5) as smtp:
        smtp.send_message(message)
    listed = httpx.get(f"{inbox}/api/messages", params={"to": "b@example.com"}).json()
    assert [(m["subject"], m["to"]) for m in listed["items"]] == [("Hola", ["b@example.com"])]
    detail = httpx.get(f"{inbox}/api/messages/{listed['items'][0]['id']}").json()
    assert detail["text"].strip() == "plain words"
    assert "<b>words</b>" in detail["html"]
    assert "Hola" in httpx.get(f"{inbox}/").text

    # The generated secrets are used instead of the built-in development placeholders.
    secrets_file = json.loads((up.data_dir / "secrets.json").read_text())
    assert len(secrets_file["jwt_secret"]) >= 32
    assert oct((up.data_dir / "secrets.json").stat().st_mode & 0o777) == "0o600"
    assert state["urls"]["database"].startswith("postgresql://postgres:")

    pids = up.stop(signal.SIGINT)
    assert len(pids) >= 4  # mail catcher, API, front ends, PostgreSQL (+ its helpers)
    _assert_all_gone(pids, up.ports)
    assert "Stopped." in up.output()


@pytest.mark.timeout(300)
def test_data_survives_restarts_and_a_killed_supervisor_leaves_no_orphans(up: Up) -> None:
    state = up.start()
    database = str(state["urls"]["database"])
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO locations (name, timezone) VALUES ('Survives restarts', 'Europe/Madrid')"
        )
    assert up.process is not None
    children = _descendants(up.process.pid)
    up.process.kill()  # SIGKILL: the supervisor gets no chance to clean up
    up.process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.05)
    assert not [p for p in children if _alive(p)], "children outlived a killed supervisor"

    # PostgreSQL (daemonised by pg_ctl) outlived it: the next `up` restarts it, data intact.
    state = up.start()
    assert state["urls"]["database"] == database  # same port, same generated password
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT timezone FROM locations WHERE name = 'Survives restarts'")
        assert row.fetchone() == ("Europe/Madrid",)
    _assert_all_gone(up.stop(signal.SIGTERM), up.ports)


def test_a_busy_port_is_reported_and_nothing_is_started(up: Up) -> None:
    with socket.socket() as holder:
        # The port the OS hands us, held from the start: a port picked free earlier can be
        # taken meanwhile by another test's server (xdist), and the bind would fail here.
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        up.ports["api"] = holder.getsockname()[1]
        with pytest.raises(AssertionError, match="exited"):
            up.start()
        assert up.process is not None
        assert up.process.wait(STOP_TIMEOUT) == 1
    assert f"Port {up.ports['api']} (API) is in use" in up.output()
    assert "TAPWORK_UP_API_PORT" in up.output()
    assert not (up.data_dir / "postgres").exists()  # it failed before starting anything


@pytest.mark.timeout(300)
def test_a_signal_while_starting_still_stops_everything(up: Up) -> None:
    with pytest.raises(AssertionError, match="exited"):
        # PostgreSQL and the API are started by then; SIGHUP is what a closed terminal sends.
        up.start_until("Applying migrations", then=signal.SIGHUP)
    assert up.process is not None
    assert up.process.returncode == 0, up.output()
    assert "Stopped." in up.output()
    # postmaster.pid disappears only when the server has shut down.
    assert not (up.data_dir / "postgres" / "postmaster.pid").exists()
    assert up.interrupted  # at least the API had been started
    _assert_all_gone(up.interrupted, up.ports)


@pytest.mark.timeout(300)
def test_given_database_and_smtp_are_used_instead_of_the_embedded_ones(
    up: Up, server_url: str, smtp: SmtpServer
) -> None:
    name = f"tapwork_up_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database = f"{server_url.rpartition('/')[0]}/{name}"
    try:
        up.env = {"DATABASE_URL": database, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port)}
        state = up.start()
        assert state["urls"]["database"] == database
        assert "inbox" not in state["urls"]
        assert not (up.data_dir / "postgres").exists()
        assert not _answers(up.ports["smtp"])
        with psycopg.connect(database) as conn:  # migrated by `up`
            assert conn.execute("SELECT count(*) FROM roles WHERE is_system").fetchone() == (4,)
        api = f"http://127.0.0.1:{up.ports['api']}"
        reset = httpx.post(f"{api}/api/v1/auth/password-reset", json={"email": "x@example.com"})
        assert reset.status_code == 202  # no such account: no mail, but the API answers

        # A child that dies takes the stack down in order, and `up` fails naming it.
        assert up.process is not None
        pids = _descendants(up.process.pid)
        os.kill(state["pids"]["API"], signal.SIGKILL)
        assert up.process.wait(STOP_TIMEOUT) == 1
        assert "API exited with code" in up.output()
        _assert_all_gone(pids, up.ports)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
