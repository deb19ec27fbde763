"""Builds and serves the front ends: the Scanner App at `/` and the portal at `/portal/`.

`tapwork up` (devstack/stack.py) calls `build_if_stale()` then serves
`create_static_app(settings)` on port 3000. The built assets live in
`frontend/<package>/dist`; `FRONTEND_DIST` may point at another folder laid out the same way
(`<dir>/scanner/dist`, `<dir>/portal/dist`), e.g. in a container image built by a separate
stage.

`python -m tapwork.devstack.frontend openapi PATH` writes the API's OpenAPI document (no
server, no database) for `npm run gen:api`.
"""

from __future__ import annotations

import json
import mimetypes
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tapwork.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]
FRONTEND_DIR = REPO_ROOT / "frontend"
PACKAGES = ("scanner", "portal")
# What a build reads: a change to any of these makes the dist stale.
SOURCE_PARTS = ("src", "public", "index.html", "vite.config.ts", "package.json", "tsconfig.json")

# Browsers refuse to stream-compile wasm, and to install a manifest, served as octet-stream.
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/manifest+json", ".webmanifest")


def frontend_root(settings: Settings | None = None) -> Path:
    configured = settings.frontend_dist if settings else os.environ.get("FRONTEND_DIST", "")
    return Path(configured) if configured else FRONTEND_DIR


def _walk(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        for child in path.rglob("*"):
            if child.is_file() and "node_modules" not in child.parts:
                yield child


def _newest_source_mtime(frontend: Path, package: str) -> float:
    # Every package is built from its own sources, the shared package and the lock file.
    roots = [frontend / "package-lock.json", frontend / "tsconfig.base.json", frontend / "shared"]
    roots += [frontend / package / part for part in SOURCE_PARTS]
    return max((f.stat().st_mtime for root in roots for f in _walk(root)), default=0.0)


def stale_packages(frontend: Path = FRONTEND_DIR) -> list[str]:
    """Packages whose dist is missing or older than any source it is built from."""
    stale = []
    for package in PACKAGES:
        index = frontend / package / "dist" / "index.html"
        if not index.exists() or _newest_source_mtime(frontend, package) > index.stat().st_mtime:
            stale.append(package)
    return stale


def is_stale(frontend: Path = FRONTEND_DIR) -> bool:
    return bool(stale_packages(frontend))


def _npm(*args: str, cwd: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: install Node.js 20.19+ to build the front ends")
    subprocess.run([npm, *args], cwd=cwd, check=True)  # noqa: S603 - fixed arguments


def build_if_stale(frontend: Path = FRONTEND_DIR) -> None:
    """Install the workspace when needed and rebuild the packages whose assets are missing or
    older than their sources (only those: the kiosk need not wait for the portal)."""
    if not (frontend / "package.json").exists():
        print(f"frontend: no workspace at {frontend}; serving prebuilt assets only", flush=True)
        return
    modules = frontend / "node_modules"
    lock = frontend / "package-lock.json"
    if not modules.is_dir() or (lock.exists() and lock.stat().st_mtime > modules.stat().st_mtime):
        print("frontend: installing packages (npm ci)…", flush=True)
        _npm("ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=frontend)
    stale = stale_packages(frontend)
    if not stale:
        print("frontend: built assets are up to date", flush=True)
        return
    for package in stale:
        print(f"frontend: building {package} (npm run build -w {package})…", flush=True)
        _npm("run", "--silent", "build", "-w", package, cwd=frontend)
    if "scanner" in stale:
        _npm("run", "--silent", "budget", cwd=frontend)
    print("frontend: build finished", flush=True)


class SpaStaticFiles(StaticFiles):
    """Static files with the single-page-app fallback: unknown paths get index.html."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or Path(path).suffix:
                raise
            response = await super().get_response("index.html", scope)
        name = Path(path).name
        if path.startswith("assets/"):
            # Vite puts a content hash in every asset name: safe to cache forever.
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        elif name in ("", ".", "index.html", "sw.js") or not Path(path).suffix:
            # The shell and the Service Worker must be revalidated or updates never arrive.
            response.headers["Cache-Control"] = "no-cache"
        return response


def _missing(package: str, directory: Path) -> Route:
    async def explain(request: Request) -> Response:
        return PlainTextResponse(
            f"The {package} is not built ({directory} is missing). Run `npm run build` in "
            "frontend/ or start with `tapwork up`.",
            status_code=503,
        )

    return Route("/{path:path}", explain)


# The security headers, shared with the Scanner App image's server (frontend/server/server.mjs):
# one file, read by both, so the two servers cannot drift apart.
SECURITY_HEADERS_FILE = FRONTEND_DIR / "server" / "security-headers.json"


def _security_config() -> dict[str, Any]:
    return dict(json.loads(SECURITY_HEADERS_FILE.read_text(encoding="utf-8")))


def api_origin(api_url: str) -> str:
    """The origin of API_URL as a browser writes it (`scheme://host[:port]`, no path, no user,
    no default port), or "" when API_URL is not an absolute http(s) URL."""
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def content_security_policy(api_url: str) -> str:
    """The kiosk's and the portal's policy: only their own files, the API, and what the camera
    decoder needs (WebAssembly compiled from our own .wasm, camera frames as blobs). Style
    attributes set by the code are allowed; no inline or foreign script is."""
    api = api_origin(api_url)
    directives = _security_config()["contentSecurityPolicy"]
    return "; ".join(d.replace("{api}", api).strip() for d in directives)


def security_headers(api_url: str, tls: bool) -> dict[str, str]:
    """Every header the front ends' answers carry (HSTS only for a request that came over TLS)."""
    config = _security_config()
    headers = {"Content-Security-Policy": content_security_policy(api_url), **config["headers"]}
    if tls:
        headers["Strict-Transport-Security"] = config["strictTransportSecurity"]
    return headers


class SecurityHeaders:
    """The headers a browser needs to protect the front ends (pure ASGI around the static app);
    the Scanner App image's web server sends the same, from the same file."""

    def __init__(self, app: ASGIApp, api_url: str) -> None:
        self.app = app
        self.plain = _encode(security_headers(api_url, tls=False))
        self.tls = _encode(security_headers(api_url, tls=True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Over TLS directly, or behind a proxy that terminated it (like the image's server).
        forwarded = dict(scope.get("headers", [])).get(b"x-forwarded-proto", b"")
        tls = scope.get("scheme") == "https" or forwarded.split(b",")[0].strip() == b"https"
        extra = self.tls if tls else self.plain

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def _encode(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


def create_static_app(settings: Settings) -> Starlette:
    """The Scanner App at `/`, the portal at `/portal/`, and `/config.js` with the API URL."""
    root = frontend_root(settings)
    config_js = f"window.TAPWORK_CONFIG = {json.dumps({'apiUrl': settings.api_url})};\n"

    async def config(request: Request) -> Response:
        return Response(
            config_js,
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    async def to_portal(request: Request) -> Response:
        return RedirectResponse("/portal/", status_code=308)

    # Without this, "/portal" would fall through to the kiosk's single-page fallback.
    routes: list[Route | Mount] = [Route("/config.js", config), Route("/portal", to_portal)]
    for package, prefix in (("portal", "/portal"), ("scanner", "")):
        directory = root / package / "dist"
        if directory.is_dir():
            app = SpaStaticFiles(directory=directory, html=True)
            routes.append(Mount(prefix or "/", app=app))
        else:
            routes.append(Mount(prefix or "/", routes=[_missing(package, directory)]))
    middleware = [Middleware(SecurityHeaders, api_url=settings.api_url)]
    return Starlette(routes=routes, middleware=middleware)


def openapi_document() -> dict[str, object]:
    from tapwork.main import create_app

    return create_app(Settings(log_json=False)).openapi()


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "openapi":
        Path(argv[1]).write_text(json.dumps(openapi_document(), indent=2) + "\n", encoding="utf-8")
        return 0
    if argv == ["build"]:
        build_if_stale()
        return 0
    print("usage: python -m tapwork.devstack.frontend openapi PATH | build", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
