"""The Compose deployment, run for real: images built from this checkout, the stack brought up
with `docker-compose` on a container engine that `deploy/containers-locally.sh` starts (with
stand-ins for the upstream base images where no registry is reachable), then used as a small
company would, through the published ports only.

One test, in steps, because each step needs the state the previous one left: build, up, every
healthcheck green, an admin created with `exec`, an employee invited by mail, a kiosk paired, a
badge scanned into a check-in, the confirmation mail in the mail service, the kiosk page on the
scanner's port; the seed's `logs` and `exec api alembic upgrade head`; the api restarted and
the stack taken `down` and `up` again with the data kept; `down -v` leaving nothing.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.tools import ROOT, tool

ENGINE_DIR = Path(os.environ.get("TAPWORK_CONTAINERS_DIR", "/tmp/tapwork-containers"))
PROJECT = "tapworksmoke"
HEALTH_TIMEOUT = 420.0
PASSWORD = "correct-horse-battery-staple-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def compose(self, *args: str, timeout: float = 900, check: bool = True) -> str:
        command = [
            tool("docker-compose"),
            "-p",
            PROJECT,
            "-f",
            "docker-compose.yml",
            "-f",
            "deploy/compose.test.yml",
            *args,
        ]
        started = time.monotonic()
        result = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        self.log.append(f"{' '.join(args)}: {time.monotonic() - started:.1f}s")
        if check:
            assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr

    def docker(self, *args: str) -> str:
        return subprocess.run(
            ["docker", *args], env=self.env, capture_output=True, text=True, check=True
        ).stdout.strip()

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).strip()

    def states(self) -> dict[str, str]:
        """service -> "status health exit-code" of every container of the project (two quick
        docker calls; docker-compose itself takes seconds to start)."""
        label = f"label=com.docker.compose.project={PROJECT}"
        ids = self.docker("ps", "-aq", "--filter", label).split()
        if not ids:
            return {}
        fmt = (
            '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} '
            "{{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}} {{.State.ExitCode}}"
        )
        lines = self.docker("inspect", "-f", fmt, *ids).splitlines()
        return {line.split()[0]: line.split(maxsplit=1)[1] for line in lines}

    def wait_healthy(self) -> None:
        """Every healthcheck green (postgres, api, scanner), migrate done, the rest running."""
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while True:
            states = self.states()
            healthy = all(
                states.get(s, "").startswith("running healthy")
                for s in ("postgres", "api", "scanner")
            )
            running = all(states.get(s, "").startswith("running") for s in ("worker", "mailhog"))
            if states.get("migrate", "").startswith("exited"):
                assert states["migrate"].endswith(" 0"), self.compose("logs", "migrate")
                if healthy and running:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy: {states}\n{self.compose('logs', '--tail=40')}")
            time.sleep(1)

    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"


@pytest.fixture(scope="module")
def engine() -> Iterator[dict[str, str]]:
    """A container engine of our own (DOCKER_HOST), one test run at a time on this machine."""
    ENGINE_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CL_DIR": str(ENGINE_DIR),
        "DOCKER_HOST": f"unix://{ENGINE_DIR}/docker.sock",
    }
    with (ENGINE_DIR / "test.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another checkout's run waits here
        script = str(ROOT / "deploy" / "containers-locally.sh")
        started = time.monotonic()
        up = subprocess.run(["bash", script, "up"], env=env, capture_output=True, text=True)
        assert up.returncode == 0, up.stdout + up.stderr
        print(f"container engine ready in {time.monotonic() - started:.1f}s")
        try:
            yield env
        finally:
            # Stop the engine (by its pid); its data root stays, so the next run starts warm.
            subprocess.run(["bash", script, "down"], env=env, capture_output=True)


@pytest.fixture
def stack(engine: dict[str, str]) -> Iterator[Stack]:
    ports = {n: _free_port() for n in ("db", "api", "smtp", "mail_ui", "scanner")}
    env = {
        **engine,
        "DB_PASSWORD": secrets.token_urlsafe(24),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "BADGE_SECRET": secrets.token_urlsafe(48),
        "API_URL": f"http://127.0.0.1:{ports['api']}",
        "PUBLIC_URL": f"http://127.0.0.1:{ports['scanner']}",
        **{f"HOST_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    stack = Stack(env=env, ports=ports)
    stack.compose("down", "-v", "--remove-orphans", check=False)  # a crashed run's leftovers
    try:
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", check=False)
        print("compose smoke timings:", "; ".join(stack.log))


def _mail(stack: Stack, to: str, subject: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = httpx.get(stack.url("mail_ui", "/api/v2/messages")).json()["items"]
        for item in items:
            headers = item["Content"]["Headers"]
            if to in item["Raw"]["To"] and subject in headers.get("Subject", [""])[0]:
                return dict(item)
        time.sleep(0.5)
    raise AssertionError(
        f"no mail '{subject}' to {to}:\n{stack.compose('logs', '--tail=40', 'worker')}"
    )


def _attendance(api: httpx.Client, token: str) -> list[dict[str, Any]]:
    listed = api.get("/attendance", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


def _login(api: httpx.Client, email: str, password: str) -> str:
    login = api.post("/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


@pytest.mark.timeout(1800)
def test_compose_stack_serves_a_check_in_and_keeps_its_data(stack: Stack) -> None:
    stack.compose("build", timeout=1500)
    stack.compose("up", "-d")
    stack.wait_healthy()

    assert httpx.get(stack.url("api", "/ready")).status_code == 200
    stack.compose(
        "exec", "-T", "api", "tapwork", "create-admin", "--email", "admin@example.com",
        "--password", PASSWORD,
    )  # fmt: skip
    api = httpx.Client(base_url=stack.url("api", "/api/v1"), timeout=30)
    admin = {"Authorization": f"Bearer {_login(api, 'admin@example.com', PASSWORD)}"}

    location = api.post(
        "/locations", json={"name": "HQ", "timezone": "Europe/Madrid"}, headers=admin
    )
    assert location.status_code == 201, location.text
    user = api.post(
        "/users",
        json={
            "email": "ana@example.com",
            "employee_id": "E-1",
            "first_name": "Ana",
            "last_name": "Diaz",
            "location_id": location.json()["id"],
        },
        headers=admin,
    )
    assert user.status_code == 201, user.text
    # The invitation travels API → outbox → worker → SMTP → the mail service, like any mail.
    invite = _mail(stack, "ana@example.com", "invited you")
    token = re.search(r"token=([\w.-]+)", invite["Content"]["Body"].replace("=\r\n", ""))
    assert token, invite["Content"]["Body"]
    accepted = api.post("/auth/accept-invite", json={"token": token.group(1), "password": PASSWORD})
    assert accepted.status_code == 200, accepted.text

    badge = api.post(f"/users/{user.json()['id']}/badge/regenerate", json={}, headers=admin)
    assert badge.status_code == 200, badge.text
    kiosk = api.post(
        "/kiosks", json={"name": "Door", "location_id": location.json()["id"]}, headers=admin
    )
    assert kiosk.status_code == 201, kiosk.text
    paired = api.post("/kiosks/pair", json={"pairing_code": kiosk.json()["pairing_code"]})
    assert paired.status_code == 200, paired.text
    scan = api.post(
        "/attendance",
        json={"code_data": badge.json()["code_data"], "client_scan_id": str(uuid.uuid4())},
        headers={"X-Kiosk-Token": paired.json()["device_token"]},
    )
    assert scan.status_code == 200, scan.text
    assert scan.json()["action"] == "check_in"
    assert _mail(stack, "ana@example.com", "Checked in")

    # The Scanner App image: kiosk and portal, and the API address given at start.
    kiosk_page = httpx.get(stack.url("scanner", "/"))
    assert kiosk_page.status_code == 200
    assert "<html" in kiosk_page.text.lower()
    assert httpx.get(stack.url("scanner", "/portal/")).status_code == 200
    config = httpx.get(stack.url("scanner", "/config.js")).text
    assert f'"apiUrl": "{stack.url("api")}"' in config.replace('":"', '": "')
    # The image's server sends the front ends' security headers (frontend/server/).
    for path in ("/", "/portal/", "/config.js"):
        headers = httpx.get(stack.url("scanner", path)).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self' 'wasm-unsafe-eval'" in policy, policy
        assert f"connect-src 'self' {stack.url('api')}" in policy, policy
        assert "frame-ancestors 'none'" in policy, policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in headers
    behind_tls = httpx.get(stack.url("scanner", "/"), headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["strict-transport-security"].startswith("max-age=")

    # The seed's commands: logs, and migrations by hand (a no-op at head).
    assert "tapwork" in stack.compose("logs", "--tail=20", "api").lower()
    stack.compose("exec", "-T", "api", "alembic", "upgrade", "head")

    records = _attendance(api, admin["Authorization"].split()[1])
    assert [(r["user_id"], r["id"]) for r in records] == [
        (user.json()["id"], scan.json()["record_id"])
    ]

    stack.compose("restart", "api")
    stack.wait_healthy()
    admin_token = _login(api, "admin@example.com", PASSWORD)
    assert _attendance(api, admin_token) == records

    stack.compose("down")
    stack.compose("up", "-d")
    stack.wait_healthy()
    admin_token = _login(api, "admin@example.com", PASSWORD)
    assert _attendance(api, admin_token) == records

    stack.compose("down", "-v")
    label = f"label=com.docker.compose.project={PROJECT}"
    assert stack.docker("ps", "-aq", "--filter", label) == ""
    assert stack.docker("volume", "ls", "-q", "--filter", label) == ""
    assert stack.docker("network", "ls", "-q", "--filter", label) == ""
