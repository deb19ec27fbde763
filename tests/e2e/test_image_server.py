"""The Scanner App image's static server (`frontend/server/server.mjs`) as a real Node process
over the built kiosk and portal: it serves what `tapwork up` serves, with the same security
headers (both read frontend/server/security-headers.json; this test holds them equal)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tapwork.config import Settings
from tapwork.devstack import frontend
from tapwork.devstack.embedded_pg import free_port

SERVER = frontend.FRONTEND_DIR / "server"
API_URL = "http://api.example:8000/"
SECURITY = (
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "strict-transport-security",
)
PATHS = ("/", "/portal/", "/config.js", "/portal/employees/42", "/assets/missing.js")


@pytest.fixture(scope="module")
def node_server(built_frontend: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    node = shutil.which("node")
    assert node, "Node.js is not installed"
    assert (SERVER / "node_modules" / "sirv").is_dir(), "run ./dev test (npm ci in frontend/server)"
    # Laid out like the image: STATIC_ROOT/scanner and STATIC_ROOT/portal.
    root = tmp_path_factory.mktemp("static")
    for package in frontend.PACKAGES:
        (root / package).symlink_to(built_frontend / package / "dist")
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PORT": str(port), "STATIC_ROOT": str(root), "API_URL": API_URL}
    process = subprocess.Popen(
        [node, str(SERVER / "server.mjs")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                httpx.get(f"{url}/config.js", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "node server did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()  # SIGTERM, as Docker and Kubernetes stop it
        assert process.wait(timeout=10) == 0


async def _twin(path: str, headers: dict[str, str]) -> httpx.Response:
    """The same request to `tapwork up`'s static server over the same build."""
    app = frontend.create_static_app(Settings(frontend_dist="", api_url=API_URL))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kiosk") as client:
        return await client.get(path, headers=headers)


def _security(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in SECURITY if name in response.headers}


def test_serves_kiosk_portal_and_the_api_address(node_server: str) -> None:
    kiosk = httpx.get(f"{node_server}/")
    assert kiosk.status_code == 200
    assert "<html" in kiosk.text.lower()
    assert '<script src="/config.js"' in kiosk.text
    portal = httpx.get(f"{node_server}/portal/")
    assert portal.status_code == 200
    assert portal.text != kiosk.text  # the portal's own index.html, not the kiosk's fallback
    assert httpx.get(f"{node_server}/portal").headers["location"] == "/portal/"
    config = httpx.get(f"{node_server}/config.js")
    assert config.text == 'window.TAPWORK_CONFIG = {"apiUrl":"http://api.example:8000/"};\n'


@pytest.mark.parametrize("path", ["/", "/portal/", "/config.js"])
def test_kiosk_portal_and_config_carry_the_strict_policy(node_server: str, path: str) -> None:
    response = httpx.get(f"{node_server}{path}")
    assert response.status_code == 200
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self' 'wasm-unsafe-eval'"  # no inline script, no eval
    assert csp["connect-src"] == "'self' http://api.example:8000"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    # HSTS only when the request came over TLS (here: through a proxy that terminated it).
    assert "strict-transport-security" not in response.headers
    over_tls = httpx.get(f"{node_server}{path}", headers={"X-Forwarded-Proto": "https"})
    assert over_tls.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize("forwarded", [{}, {"X-Forwarded-Proto": "https"}])
async def test_image_server_and_tapwork_up_send_the_same_headers(
    node_server: str, built_frontend: Path, forwarded: dict[str, str]
) -> None:
    for path in PATHS:
        async with httpx.AsyncClient() as client:
            image = await client.get(f"{node_server}{path}", headers=forwarded)
        twin = await _twin(path, forwarded)
        assert image.status_code == twin.status_code, path
        assert _security(image) == _security(twin), path
        assert set(_security(image)) >= set(SECURITY[:4])
