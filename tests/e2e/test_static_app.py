"""The static server behind `tapwork up` on port 3000, and the build-staleness rule."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tapwork.config import Settings
from tapwork.devstack import frontend


@pytest.fixture
def fake_build(tmp_path: Path) -> Path:
    for package in ("scanner", "portal"):
        dist = tmp_path / package / "dist"
        (dist / "assets").mkdir(parents=True)
        (dist / "index.html").write_text(f"<title>{package}</title>")
        (dist / "assets" / "app-abc123.js").write_text("console.log(1)")
    (tmp_path / "scanner" / "dist" / "assets" / "zxing_reader-x.wasm").write_bytes(b"\0asm")
    return tmp_path


async def _get(settings: Settings, path: str) -> httpx.Response:
    app = frontend.create_static_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kiosk") as client:
        return await client.get(path)


async def test_serves_scanner_at_root_and_portal_under_path(fake_build: Path) -> None:
    settings = Settings(frontend_dist=str(fake_build), api_url="http://api.example:8000")
    assert "scanner" in (await _get(settings, "/")).text
    assert "portal" in (await _get(settings, "/portal/")).text
    # Single-page apps: a deep link gets the app's index.html, a missing asset a 404.
    assert "portal" in (await _get(settings, "/portal/employees/42")).text
    bare = await _get(settings, "/portal")
    assert bare.status_code == 308
    assert bare.headers["location"] == "/portal/"
    assert "scanner" in (await _get(settings, "/pairing")).text
    assert (await _get(settings, "/assets/missing.js")).status_code == 404


async def test_config_js_points_the_apps_at_the_api(fake_build: Path) -> None:
    settings = Settings(frontend_dist=str(fake_build), api_url="http://api.example:8000")
    response = await _get(settings, "/config.js")
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.text == 'window.TAPWORK_CONFIG = {"apiUrl": "http://api.example:8000"};\n'


async def test_caching_headers_and_wasm_type(fake_build: Path) -> None:
    settings = Settings(frontend_dist=str(fake_build))
    asset = await _get(settings, "/assets/app-abc123.js")
    assert "immutable" in asset.headers["cache-control"]
    assert (await _get(settings, "/")).headers["cache-control"] == "no-cache"
    wasm = await _get(settings, "/assets/zxing_reader-x.wasm")
    assert wasm.headers["content-type"] == "application/wasm"


async def test_explains_a_missing_build(tmp_path: Path) -> None:
    response = await _get(Settings(frontend_dist=str(tmp_path)), "/")
    assert response.status_code == 503
    assert "npm run build" in response.text


def test_stale_when_a_source_is_newer_than_the_build(fake_build: Path) -> None:
    for package in ("scanner", "portal"):
        (fake_build / package / "src").mkdir()
        (fake_build / package / "src" / "main.ts").write_text("")
    old = 1_700_000_000
    for path in fake_build.rglob("*"):
        os.utime(path, (old, old))
    assert frontend.stale_packages(fake_build) == []
    source = fake_build / "scanner" / "src" / "main.ts"
    os.utime(source, (old + 10, old + 10))
    assert frontend.stale_packages(fake_build) == ["scanner"]
    (fake_build / "portal" / "dist" / "index.html").unlink()
    assert frontend.stale_packages(fake_build) == ["scanner", "portal"]


def test_a_shared_change_makes_every_package_stale(fake_build: Path) -> None:
    (fake_build / "shared" / "src").mkdir(parents=True)
    shared = fake_build / "shared" / "src" / "index.ts"
    shared.write_text("")
    old = 1_700_000_000
    for path in fake_build.rglob("*"):
        os.utime(path, (old, old))
    assert not frontend.is_stale(fake_build)
    os.utime(shared, (old + 10, old + 10))
    assert frontend.stale_packages(fake_build) == ["scanner", "portal"]


@pytest.mark.parametrize("path", ["/", "/portal/", "/config.js", "/assets/app-abc123.js"])
async def test_front_ends_carry_a_strict_policy(fake_build: Path, path: str) -> None:
    settings = Settings(frontend_dist=str(fake_build), api_url="http://api.example:8000/")
    response = await _get(settings, path)
    policy = response.headers["content-security-policy"]
    csp = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert csp["default-src"] == "'self'"
    assert "'unsafe-inline'" not in csp["script-src"]  # no inline or foreign script
    assert csp["connect-src"] == "'self' http://api.example:8000"
    assert csp["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
