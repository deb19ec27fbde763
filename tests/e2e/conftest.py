"""End-to-end harness: a committed e2e database, the API and the static front ends on real
uvicorn servers, Debian's Chromium driven by Playwright, and fake-camera clips of real badges.

One browser per session (with the fake camera showing Chromium's test pattern) for pairing,
keyboard-wedge and offline tests; camera tests launch a browser of their own because the clip
is fixed at launch. Every request the browser makes must stay on 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tapwork.badge import service as badge_service
from tapwork.config import Settings
from tapwork.db import create_engine
from tapwork.devstack import frontend
from tapwork.devstack.embedded_pg import free_port
from tapwork.kiosk.models import Kiosk
from tapwork.kit.security import hash_token, new_token
from tapwork.main import create_app
from tapwork.migration.revisions import upgrade
from tapwork.role.service import sync_system_roles
from tapwork.user.models import User
from tests.e2e import clips
from tests.e2e.servers import ThreadedServer
from tests.support import factories as f
from tests.support.smtp import SmtpServer

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = os.environ.get("TAPWORK_CHROMIUM", "/usr/bin/chromium")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
BASE_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",  # grants the camera permission
    "--use-fake-device-for-media-stream",
]


@pytest.fixture(scope="session")
def built_frontend() -> Path:
    """The built Scanner App and portal; one xdist worker builds, the other waits."""
    lock_path = frontend.FRONTEND_DIR / ".build.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            frontend.build_if_stale()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return frontend.FRONTEND_DIR


@pytest.fixture(scope="session")
def e2e_database_url(server_url: str, worker_id: str) -> Iterator[str]:
    """A database of its own whose writes really commit (servers run in other threads)."""
    name = f"tapwork_e2e_{worker_id}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server_url.rpartition("/")
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    upgrade(url)
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def e2e_ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture(scope="session")
def e2e_settings(e2e_database_url: str, smtp: SmtpServer, e2e_ports: tuple[int, int]) -> Settings:
    api_port, static_port = e2e_ports
    static_origin = f"http://127.0.0.1:{static_port}"
    return Settings(
        TAPWORK_ENV="test",
        database_url=e2e_database_url,
        # ≥ 32 bytes: the development default is shorter and PyJWT warns on every token.
        jwt_secret="e2e-jwt-secret-long-enough-for-hs256-0123456789",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_timeout_seconds=2.0,
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        log_json=False,
        log_level="WARNING",
        public_url=static_origin,
        api_url=f"http://127.0.0.1:{api_port}",
        cors_origins=[static_origin],
        database_pool_size=5,
        # Wide enough that "scan again at once" is a duplicate even on a loaded machine.
        scan_debounce_seconds=60,
        # Every browser of this worker is 127.0.0.1: invitations, resets and refreshes of a
        # whole suite in a minute are not a brute force (tests/auth test the limits). Sign-in
        # needs nothing here: only failed sign-ins are slowed (auth/throttle.py).
        rate_limit_auth_per_minute=1000,
        # One person clicking through every page in both languages within a minute is this
        # suite's pace, not a user's; the general limit has its own tests (test_general_limit).
        rate_limit_general_per_minute=100_000,
    )


@pytest.fixture(scope="session")
async def e2e_engine(e2e_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(e2e_settings)
    async with async_sessionmaker(engine)() as session:
        await sync_system_roles(session)
        await session.commit()
    yield engine
    await engine.dispose()


@pytest.fixture
def e2e_db(e2e_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that commit. Tests make their own people (unique names), so none clean up."""
    return async_sessionmaker(e2e_engine, expire_on_commit=False)


@pytest.fixture(scope="session")
def api_server(e2e_settings: Settings, e2e_engine: AsyncEngine) -> Iterator[str]:
    server = ThreadedServer(create_app(e2e_settings), urlsplit(e2e_settings.api_url).port or 0)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def static_server(
    e2e_settings: Settings, e2e_ports: tuple[int, int], built_frontend: Path
) -> Iterator[str]:
    server = ThreadedServer(frontend.create_static_app(e2e_settings), e2e_ports[1])
    server.start()
    yield server.url
    server.stop()


@dataclass
class Staff:
    """One employee with an active badge and a paired kiosk at their location."""

    user: User
    code: str
    kiosk: Kiosk
    token: str
    location_name: str

    @property
    def pairing(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "kiosk": {
                "id": str(self.kiosk.id),
                "name": self.kiosk.name,
                "location": {
                    "id": str(self.kiosk.location_id),
                    "name": self.location_name,
                    "timezone": "Europe/Madrid",
                },
            },
        }


MakeStaff = Callable[..., Awaitable[Staff]]
"""Makes an employee with a badge and a kiosk: `await make_staff("Quinn")`."""
BadgeClip = Callable[..., Path]
"""Makes a fake-camera clip of a badge code: `badge_clip(code, "qr" | "code128")`."""


@pytest.fixture
def make_staff(e2e_db: async_sessionmaker[AsyncSession]) -> MakeStaff:
    async def make(first_name: str = "Eve") -> Staff:
        now = datetime.now(UTC)
        async with e2e_db() as session:
            location = await f.make_location(session, name=f.unique("Madrid HQ "))
            # Every day is a working day so the tests pass on weekends too.
            shift = await f.make_shift(session, working_days=[1, 2, 3, 4, 5, 6, 7])
            department = await f.make_department(session)
            user = await f.make_user(
                session,
                department=department,
                shift=shift,
                location=location,
                first_name=first_name,
            )
            badge = await badge_service.ensure_active(session, user, now=now)
            token = new_token()
            kiosk = Kiosk(
                name=f.unique("Front door "),
                location_id=location.id,
                token_hash=hash_token(token),
                paired_at=now,
            )
            session.add(kiosk)
            await session.commit()
            return Staff(user, badge.code_data, kiosk, token, location.name)

    return make


@pytest.fixture
def badge_clip(tmp_path: Path) -> BadgeClip:
    """Makes a looping fake-camera clip of a badge code: `badge_clip(code, "qr"|"code128")`."""

    def make(code: str, kind: str = "qr") -> Path:
        if kind == "qr":
            return clips.clip(tmp_path / "qr.y4m", clips.qr_frame(code))
        # 1600x900 frames are 2 MB each: one second of them is enough to loop on.
        return clips.clip(tmp_path / "code128.y4m", clips.code128_frame(code), seconds=1)

    return make


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as p:
        yield p


async def launch(playwright: Playwright, clip: Path | None = None) -> Browser:
    """Chromium; with a clip (an absolute path, like tmp_path), that clip is its webcam."""
    args = list(BASE_ARGS)
    if clip is not None:
        args.append(f"--use-file-for-fake-video-capture={clip}")
    return await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    browser = await launch(playwright)
    yield browser
    await browser.close()


class Pages:
    """Opens browser contexts on the static server (kiosk at `/`, portal at `/portal/`) and
    records any request that leaves the machine (the fixtures assert there is none)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.foreign: list[str] = []
        self._contexts: list[BrowserContext] = []

    async def context(self, browser: Browser, **options: Any) -> BrowserContext:
        """`options` override the defaults, e.g. `timezone_id="Europe/Madrid"` for a viewer
        in another zone than the locations, or a phone `viewport`."""
        defaults: dict[str, Any] = {
            "base_url": self.base_url,
            "locale": "en-GB",
            "viewport": {"width": 1024, "height": 768},
        }
        context = await browser.new_context(**{**defaults, **options})
        context.on("request", self._guard)
        self._contexts.append(context)
        return context

    def _guard(self, request: Any) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOCAL_HOSTS:
            self.foreign.append(request.url)

    async def open_paired(self, context: BrowserContext, staff: Staff) -> Page:
        """The kiosk page, already paired as `staff.kiosk`, on its ready screen."""
        page = await context.new_page()
        await page.goto("/")
        await page.evaluate(
            "p => localStorage.setItem('tapwork.kiosk', JSON.stringify(p))", staff.pairing
        )
        await page.reload()
        await page.wait_for_selector("[data-screen=ready]")
        return page

    async def close(self) -> None:
        for context in self._contexts:
            await context.close()


Kiosks = Pages  # the kiosk tests' name for it


@pytest.fixture
async def pages(static_server: str, api_server: str) -> AsyncIterator[Pages]:
    """Browser contexts on the running stack; `await pages.context(browser)`."""
    pages = Pages(static_server)
    yield pages
    await pages.close()
    assert pages.foreign == [], f"requests left 127.0.0.1: {pages.foreign}"


@pytest.fixture
def kiosks(pages: Pages) -> Pages:
    return pages


async def wedge_scan(page: Page, code: str) -> None:
    """What a USB keyboard-wedge scanner does: the code as fast keystrokes, then Enter."""
    await page.keyboard.type(code, delay=0)
    await page.keyboard.press("Enter")


async def feedback(page: Page, wait_ms: float = 10_000) -> dict[str, str]:
    """Waits for the full-screen feedback and returns its tone and text."""
    overlay = await page.wait_for_selector("#feedback[data-tone]", timeout=wait_ms)
    assert overlay is not None
    return {
        "tone": await overlay.get_attribute("data-tone") or "",
        "text": await overlay.inner_text(),
    }


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png")


def record_metric(name: str, value: float) -> None:
    """Appends a measurement to artifacts/e2e-metrics.json (reported by the lead)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "e2e-metrics.json"
    with path.open("a+") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        out.seek(0)
        data = json.loads(out.read() or "{}")
        # The latest runs only: the file outlives runs, and the figure that matters is recent.
        data[name] = [*data.get(name, []), value][-10:]
        out.seek(0)
        out.truncate()
        out.write(json.dumps(data, indent=2))
