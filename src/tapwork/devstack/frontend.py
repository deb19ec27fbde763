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


def content_security_policy(api_url: str) -> str:
    """The kiosk's and the portal's policy: only their own files, the API, and what the camera
    decoder needs (WebAssembly compiled from our own .wasm, camera frames as blobs). Style
    attributes set by the code are allowed; no inline or foreign script is."""
    parts = urlsplit(api_url)
    api = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            "worker-src 'self' blob:",
            f"connect-src 'self' {api}".strip(),
            "font-src 'self' data:",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """The headers a browser needs to protect the front ends (pure ASGI around the static app);
    the Scanner App image's web server must send the same (docs/frontend.md)."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.headers)
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


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
    csp = content_security_policy(settings.api_url)
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders, csp=csp)])


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
