"""What a real `tapwork api` and `tapwork worker` write to stdout: ECS JSON lines that
Elasticsearch takes as they are, the request id on every line of a request, and no password,
token (the reset link's one the worker mails included), badge code or secret anywhere, even at
debug level and on error paths."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.devstack.embedded_pg import free_port
from tests.attendance.test_concurrency import build_world
from tests.support import factories as f
from tests.support.smtp import SmtpServer

TAPWORK = str(Path(sys.executable).with_name("tapwork"))
WRONG_PASSWORD = "not the right password at all"
NEW_PASSWORD = "a brand new passphrase 2026"


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


async def test_logs_are_ecs_json_with_request_ids_and_no_secrets(
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
    database_url: str,
    tmp_path: Path,
    smtp: SmtpServer,
) -> None:
    world = await build_world(committed_db, settings, kiosks=1, users=2)
    async with committed_db() as s:
        user = await f.make_user(s, email="logs.user@example.com")
        await s.commit()
    port = free_port()
    jwt_secret = "j" * 40 + "-log-test-secret"
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": database_url,
        "BADGE_SECRET": settings.badge_secret.get_secret_value(),
        "JWT_SECRET": jwt_secret,
        "LOG_JSON": "true",
        "LOG_LEVEL": "DEBUG",
        "METRICS_PORT": "0",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "OUTBOX_POLL_SECONDS": "0.2",
    }
    log_file = (tmp_path / "api.log").open("w")
    proc = subprocess.Popen(  # noqa: ASYNC220 - one process, read after it exits
        [TAPWORK, "api", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # The worker renders and sends the mails, links with tokens in them included.
    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(  # noqa: ASYNC220 - one process, read after it exits
        [TAPWORK, "worker"], env=env, stdout=worker_log, stderr=subprocess.STDOUT, text=True
    )
    secrets: list[str] = [f.PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, jwt_secret]
    secrets += [settings.badge_secret.get_secret_value(), *world.tokens, *world.codes]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline
                time.sleep(0.2)  # noqa: ASYNC251 - nothing else runs on this loop

            login = "/api/v1/auth/login"
            wrong = await client.post(login, json={"email": user.email, "password": WRONG_PASSWORD})
            assert wrong.status_code == 401
            ok = await client.post(
                login,
                json={"email": user.email, "password": f.PASSWORD},
                headers={"X-Request-ID": "req-login-1"},
            )
            assert ok.status_code == 200
            pair = ok.json()
            secrets += [pair["access_token"], pair["refresh_token"]]
            bearer = {"Authorization": f"Bearer {pair['access_token']}"}
            assert (await client.get("/api/v1/attendance/me", headers=bearer)).status_code == 200
            changed = await client.post(
                "/api/v1/auth/change-password",
                headers=bearer,
                json={"current_password": f.PASSWORD, "new_password": NEW_PASSWORD},
            )
            assert changed.status_code < 500
            refreshed = await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            assert refreshed.status_code < 500
            if refreshed.status_code == 200:
                secrets += [refreshed.json()["access_token"], refreshed.json()["refresh_token"]]
            await client.get(
                "/api/v1/attendance/me", headers={"Authorization": "Bearer forged.jwt.x"}
            )
            await client.post("/api/v1/auth/password-reset", json={"email": user.email})
            # The reset mail (the password-changed one may come first).
            reset_token = None
            deadline = time.monotonic() + 90
            while reset_token is None and time.monotonic() < deadline:
                for mail in smtp.inbox.to(user.email):
                    text = mail.get_body(("plain",))
                    found = text and re.search(r"token=([A-Za-z0-9_\-]+)", text.get_content())
                    reset_token = reset_token or found or None
                time.sleep(0.2)  # noqa: ASYNC251 - the servers are other processes
            assert reset_token is not None, "the worker sent no reset mail"
            secrets.append(reset_token.group(1))

            kiosk = {"X-Kiosk-Token": world.tokens[0], "X-Request-ID": "req-scan-1"}
            scan = await client.post(
                "/api/v1/attendance",
                headers=kiosk,
                json={"code_data": world.codes[0], "client_scan_id": "log-1"},
            )
            assert scan.status_code == 200
            bad = await client.post(
                "/api/v1/attendance",
                headers=kiosk,
                json={"code_data": world.codes[1][:-3] + "ZZZ", "client_scan_id": "log-2"},
            )
            assert 400 <= bad.status_code < 500
            await client.post(
                "/api/v1/attendance",
                headers={"X-Kiosk-Token": "wrong-token"},
                json={"code_data": world.codes[1], "client_scan_id": "log-3"},
            )
    finally:
        for process in (proc, worker):
            process.terminate()
        for process in (proc, worker):
            process.wait(timeout=60)
        log_file.close()
        worker_log.close()
    out = (tmp_path / "api.log").read_text()
    worker_out = (tmp_path / "worker.log").read_text()

    lines = _lines(out)  # every line is JSON: a non-JSON line fails here
    assert len(lines) >= 10
    for line in lines:
        assert {"@timestamp", "log.level", "message", "ecs.version"} <= line.keys(), line
        assert line["service"]["name"] == "tapwork-api"
        for field in ("error", "url", "http", "event", "trace", "user", "client"):
            assert field not in line or isinstance(line[field], dict), line  # ES object fields
    worker_lines = _lines(worker_out)  # the worker's lines are JSON too
    assert any(line["message"] == "outbox_batch" for line in worker_lines), worker_out[-2000:]
    for secret in secrets:
        assert secret not in out, f"a secret reached the API's logs: {secret[:6]}…"
        assert secret not in worker_out, f"a secret reached the worker's logs: {secret[:6]}…"

    requests = [line for line in lines if line["message"] == "request"]
    scans = [r for r in requests if r["url"]["path"] == "/api/v1/attendance"]
    assert [r["http"]["response"]["status_code"] for r in scans][:1] == [200]
    first_scan = scans[0]
    assert first_scan["trace"]["id"] == "req-scan-1"
    assert first_scan["http"]["request"]["method"] == "POST"
    assert first_scan["event"]["duration"] > 0
    login_lines = [line for line in lines if line.get("trace", {}).get("id") == "req-login-1"]
    assert [line["message"] for line in login_lines][-1] == "request"
    assert any(
        line["log.level"] == "debug" and line["url"]["path"] == "/health" for line in requests
    )
