"""`BIOMETRIC_ENABLED=true tapwork up` runs the face service too: one enrolment and one
verifying scan through the API of the local stack, end to end.

Kept fast: the stack uses the test PostgreSQL server and SMTP server (no embedded database,
no mail catcher); everything else is the real command and its real children.
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tapwork.biometric.notice import NOTICE_VERSION
from tapwork.devstack.embedded_pg import free_port
from tests.biometric import images as im
from tests.devstack.test_up import TAPWORK, Up, _assert_all_gone
from tests.support.smtp import SmtpServer

EMAIL, PASSWORD = "face-admin@example.com", "a-long-enough-Password-1"


@pytest.fixture
def database(server_url: str) -> Iterator[str]:
    name = f"tapwork_up_bio_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server_url.rpartition('/')[0]}/{name}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    stack = Up(Path(tmp_path_factory.mktemp("up-bio")))
    yield stack
    stack.kill()


@pytest.mark.timeout(300)
def test_up_with_biometrics_on_enrols_and_verifies_through_the_api(
    up: Up, database: str, smtp: SmtpServer
) -> None:
    up.ports["biometric"] = free_port()
    up.env = {
        "BIOMETRIC_ENABLED": "true",
        "DATABASE_URL": database,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
    }
    state = up.start()
    assert state["urls"]["face service"] == f"http://127.0.0.1:{up.ports['biometric']}"
    subprocess.run(
        [TAPWORK, "create-admin", "--email", EMAIL, "--password", PASSWORD],
        env={"DATABASE_URL": database, "TAPWORK_ENV": "development", "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        timeout=120,
    )
    api = httpx.Client(base_url=f"http://127.0.0.1:{up.ports['api']}/api/v1", timeout=60)
    token = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    api.headers["Authorization"] = f"Bearer {token['access_token']}"
    me = api.get("/users/me").json()

    # A kiosk at a location where face verification is required.
    location = api.post("/locations", json={"name": "HQ", "timezone": "Europe/Madrid"}).json()
    enrolled = api.post("/kiosks", json={"name": "Door", "location_id": location["id"]}).json()
    paired = api.post("/kiosks/pair", json={"pairing_code": enrolled["pairing_code"]}).json()
    policy = api.put("/biometric/policy", json={"location_ids": [location["id"]]})
    assert policy.status_code == 200, policy.text

    # Consent, then enrolment: the API calls the face service `tapwork up` started.
    consent = api.post("/biometric/me/consent", json={"notice_version": NOTICE_VERSION})
    assert consent.status_code == 201, consent.text
    images = [im.b64(b) for b in im.enrolment_images()]
    enrol = api.post("/biometric/enroll", json={"user_id": me["id"], "images": images})
    assert enrol.status_code == 201, enrol.text

    badge = api.get("/badges/me", params={"format": "json"}).json()
    scan = httpx.post(
        f"http://127.0.0.1:{up.ports['api']}/api/v1/attendance",
        headers={"X-Kiosk-Token": paired["device_token"]},
        json={
            "code_data": badge["code_data"],
            "client_scan_id": "up-bio-1",
            "face_image": im.b64(im.astronaut_variants()["lighter"]),
        },
        timeout=60,
    )
    assert scan.status_code == 200, scan.text
    assert scan.json()["action"] == "check_in"
    assert scan.json()["biometric"]["outcome"] == "match"
    # Stopping takes the face service down with the rest (it used to make `up` fail).
    pids = up.stop(signal.SIGTERM) - {state["postgres_pid"]}
    assert state["pids"]["face service"] in pids
    _assert_all_gone(pids, {"biometric": up.ports["biometric"], "api": up.ports["api"]})
