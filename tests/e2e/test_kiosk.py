"""The Scanner App in Debian's Chromium against the real API and PostgreSQL.

Camera tests feed Chromium a y4m clip of a real badge (QR or Code128) as its webcam; wedge
tests type the code as a USB scanner would. Each asserts what the person sees AND what the
database holds.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.async_api import Browser, Playwright, expect
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.badge.models import Badge
from tapwork.config import Settings
from tapwork.kiosk.models import Kiosk
from tests.e2e.conftest import (
    BASE_ARGS,
    CHROMIUM,
    BadgeClip,
    Kiosks,
    MakeStaff,
    Staff,
    feedback,
    launch,
    record_metric,
    screenshot,
    wedge_scan,
)
from tests.support import factories as f

Db = async_sessionmaker[AsyncSession]


async def records(db: Db, user_id: uuid.UUID) -> list[AttendanceRecord]:
    async with db() as session:
        rows = await session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.user_id == user_id)
        )
        return list(rows)


async def wait_for_records(db: Db, user_id: uuid.UUID, count: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while len(await records(db, user_id)) < count:
        assert time.monotonic() < deadline, f"expected {count} record(s) for {user_id}"
        await asyncio.sleep(0.1)


async def _camera_scan(
    playwright: Playwright, kiosks: Kiosks, staff: Staff, clip: Path, name: str
) -> dict[str, str]:
    browser = await launch(playwright, clip)
    try:
        context = await kiosks.context(browser)
        page = await kiosks.open_paired(context, staff)
        shown = await feedback(page, wait_ms=15_000)
        await screenshot(page, name)
        ms = await page.get_attribute("#feedback", "data-frame-to-feedback-ms")
        assert ms is not None
        record_metric(f"{name}_frame_to_feedback_ms", float(ms))
        metrics = await page.evaluate("window.__tapwork")
        record_metric(f"{name}_decode_ms", float(metrics["lastDecodeMs"]))
        record_metric(f"{name}_api_ms", float(metrics["lastApiMs"]))
        return shown
    finally:
        await browser.close()


async def test_qr_clip_checks_the_employee_in(
    playwright: Playwright, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db, badge_clip: BadgeClip
) -> None:
    staff: Staff = await make_staff("Quinn")
    clip = badge_clip(staff.code, "qr")
    shown = await _camera_scan(playwright, kiosks, staff, clip, "kiosk-camera-qr-check-in")
    assert shown["tone"] in ("checkin", "warn")  # warn: late, depending on the hour
    assert "Checked in" in shown["text"]
    assert "Quinn" in shown["text"]
    [record] = await records(e2e_db, staff.user.id)
    assert record.check_in_at is not None
    assert record.check_out_at is None


async def test_code128_clip_checks_the_employee_in(
    playwright: Playwright, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db, badge_clip: BadgeClip
) -> None:
    staff: Staff = await make_staff("Cora")
    clip = badge_clip(staff.code, "code128")
    shown = await _camera_scan(playwright, kiosks, staff, clip, "kiosk-camera-code128-check-in")
    assert "Checked in" in shown["text"]
    [record] = await records(e2e_db, staff.user.id)
    assert record.check_out_at is None


async def test_wedge_scan_checks_in_then_out(
    browser: Browser, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db
) -> None:
    staff: Staff = await make_staff("Wendy")
    page = await kiosks.open_paired(await kiosks.context(browser), staff)
    assert await page.inner_text("#kiosk-name") == staff.kiosk.name
    assert await page.inner_text("#kiosk-location") == staff.location_name
    await screenshot(page, "kiosk-ready")
    await wedge_scan(page, staff.code)
    shown = await feedback(page)
    assert "Checked in" in shown["text"]
    assert "Wendy" in shown["text"]
    await screenshot(page, "kiosk-wedge-check-in")
    [record] = await records(e2e_db, staff.user.id)
    assert record.check_out_at is None

    # The same badge again soon (the e2e API's debounce is 60 s): DUPLICATE_SCAN, amber.
    await page.evaluate("document.getElementById('feedback').removeAttribute('data-tone')")
    await page.wait_for_timeout(3100)  # past the kiosk's own per-code debounce window
    await wedge_scan(page, staff.code)
    shown = await feedback(page)
    assert shown["tone"] == "warn", shown
    assert "Already scanned" in shown["text"]
    await screenshot(page, "kiosk-duplicate")
    # ...and a few seconds later the kiosk is ready for the next person.
    await page.wait_for_selector("#feedback", state="hidden", timeout=8000)
    assert await page.is_visible(".prompt h1")


async def test_a_person_typing_is_not_a_scan(
    browser: Browser, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db
) -> None:
    staff: Staff = await make_staff()
    page = await kiosks.open_paired(await kiosks.context(browser), staff)
    await page.keyboard.type(staff.code[:14], delay=90)  # a quick typist
    await page.keyboard.press("Enter")
    await page.wait_for_timeout(500)
    assert await page.is_hidden("#feedback")
    assert await records(e2e_db, staff.user.id) == []


# Records what the kiosk asks of the vibration motor and the speaker.
SIGNAL_SPY = """
window.__vibrations = [];
window.__beeps = [];
navigator.vibrate = (pattern) => (window.__vibrations.push(pattern), true);
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  const osc = createOscillator.call(this);
  const start = osc.start.bind(osc);
  osc.start = (...args) => (window.__beeps.push(osc.frequency.value), start(...args));
  return osc;
};
"""


async def test_revoked_badge_shows_the_red_rejection(
    browser: Browser, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db
) -> None:
    staff: Staff = await make_staff("Rita")
    async with e2e_db() as session:
        await session.execute(
            update(Badge)
            .where(Badge.user_id == staff.user.id)
            .values(revoked_at=func.now(), revoke_reason="revoked")
        )
        await session.commit()
    context = await kiosks.context(browser)
    await context.add_init_script(SIGNAL_SPY)
    page = await kiosks.open_paired(context, staff)
    await wedge_scan(page, staff.code)
    shown = await feedback(page)
    assert shown["tone"] == "reject"
    assert "Badge revoked" in shown["text"]
    # A long buzz and a low two-tone beep for a rejection.
    assert await page.evaluate("window.__vibrations") == [[300]]
    assert await page.evaluate("window.__beeps") == [220, 180]
    background = await page.eval_on_selector(
        "#feedback", "el => getComputedStyle(el).backgroundColor"
    )
    assert background == "rgb(185, 28, 28)"
    await screenshot(page, "kiosk-rejected-revoked-badge")
    assert await records(e2e_db, staff.user.id) == []


async def test_offline_scan_is_queued_and_sent_once_back_online(
    browser: Browser, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db
) -> None:
    staff: Staff = await make_staff("Otto")
    context = await kiosks.context(browser)
    page = await kiosks.open_paired(context, staff)
    await context.set_offline(True)
    await wedge_scan(page, staff.code)
    shown = await feedback(page)
    assert shown["tone"] == "queued"
    badge = page.locator("#queue-badge")
    await badge.wait_for(state="visible")
    assert await badge.inner_text() == "Offline — 1 queued"
    await screenshot(page, "kiosk-offline-queued")
    assert await records(e2e_db, staff.user.id) == []

    await context.set_offline(False)
    await badge.wait_for(state="hidden", timeout=15_000)
    assert await page.inner_text("#toast") == "Queued scans sent: 1"
    await wait_for_records(e2e_db, staff.user.id, 1)
    await page.wait_for_timeout(1000)  # a second send would have landed by now
    [record] = await records(e2e_db, staff.user.id)
    assert record.check_in_at is not None


async def test_reloads_with_no_network_and_still_scans(
    browser: Browser, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db
) -> None:
    staff: Staff = await make_staff("Nora")
    context = await kiosks.context(browser)
    page = await kiosks.open_paired(context, staff)
    # What the offline reload needs is an activated worker with its cache filled; whether this
    # already-open page is controlled yet (clients.claim) does not matter to the next navigation.
    await page.wait_for_function(
        """async () => {
            const registration = await navigator.serviceWorker.getRegistration();
            return registration?.active?.state === "activated";
        }"""
    )
    await context.set_offline(True)
    await page.reload()
    await page.wait_for_selector("[data-screen=ready]")
    # The decoder (wasm) came from the Service Worker's cache too.
    await page.wait_for_function("window.__tapwork && window.__tapwork.decoderReadyMs >= 0")
    assert await page.inner_text("#kiosk-name") == staff.kiosk.name
    await screenshot(page, "kiosk-reloaded-offline")
    await wedge_scan(page, staff.code)
    assert (await feedback(page))["tone"] == "queued"
    await context.set_offline(False)
    await wait_for_records(e2e_db, staff.user.id, 1)


async def test_pairs_with_a_code_and_shows_revocation(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, e2e_settings: Settings, api_server: str
) -> None:
    async with e2e_db() as session:
        location = await f.make_location(session, name=f.unique("Valencia "))
        admin = await f.make_user(session, role_name="admin")
        await session.commit()
    headers = f.bearer(admin, e2e_settings, datetime.now(UTC))
    name = f.unique("Lobby ")
    async with httpx.AsyncClient(base_url=api_server, headers=headers) as api:
        enrolled = await api.post(
            "/api/v1/kiosks", json={"name": name, "location_id": str(location.id)}
        )
        assert enrolled.status_code == 201, enrolled.text
        body = enrolled.json()
        code = body["pairing_code"]
        kiosk_id = body.get("kiosk", body)["id"]

        page = await (await kiosks.context(browser)).new_page()
        await page.goto("/")
        await page.wait_for_selector("[data-screen=pairing]")
        await screenshot(page, "kiosk-pairing")
        await page.get_by_label("Pairing code").fill("WRONG123")
        await page.get_by_role("button", name="Pair kiosk").click()
        await page.get_by_role("alert").wait_for()
        assert "did not work" in await page.get_by_role("alert").inner_text()
        await page.get_by_label("Pairing code").fill(code)
        await page.get_by_role("button", name="Pair kiosk").click()
        await page.wait_for_selector("[data-screen=ready]")
        assert await page.inner_text("#kiosk-name") == name
        assert await page.inner_text("#kiosk-location") == location.name

        revoked = await api.post(f"/api/v1/kiosks/{kiosk_id}/revoke")
        assert revoked.status_code in (200, 204), revoked.text
    await page.reload()
    await page.wait_for_selector("[data-screen=revoked]")
    assert "Ask them for a new pairing code" in await page.inner_text("main")
    await screenshot(page, "kiosk-revoked")


async def test_spanish_kiosk(browser: Browser, kiosks: Kiosks, make_staff: MakeStaff) -> None:
    staff: Staff = await make_staff()
    context = await kiosks.context(browser)
    page = await kiosks.open_paired(context, staff)
    await page.select_option("#language", "es")
    assert await page.inner_text(".prompt h1") == "Muestra tu credencial"
    await page.reload()
    await page.wait_for_selector("[data-screen=ready]")
    assert await page.inner_text(".prompt h1") == "Muestra tu credencial"
    await screenshot(page, "kiosk-ready-es")


# The kiosk's clock runs slow: Date is shifted before the app loads.
SLOW_CLOCK = """
(() => {
  const shift = -MINUTES * 60 * 1000;
  const RealDate = Date;
  class SlowDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + shift);
      else super(...args);
    }
    static now() { return RealDate.now() + shift; }
  }
  globalThis.Date = SlowDate;
})();
"""


async def test_shows_clock_offset_and_reports_version(
    browser: Browser, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db
) -> None:
    staff: Staff = await make_staff()
    context = await kiosks.context(browser)
    await context.add_init_script(SLOW_CLOCK.replace("MINUTES", "5"))
    page = await kiosks.open_paired(context, staff)
    notice = page.locator("#clock-notice")
    await notice.wait_for(state="visible")
    assert "5 min behind the server" in await notice.inner_text()
    await screenshot(page, "kiosk-clock-offset")
    async with e2e_db() as session:
        kiosk = await session.get(Kiosk, staff.kiosk.id)
        assert kiosk is not None
        assert kiosk.app_version == "0.1.0"
        assert kiosk.clock_offset_ms is not None
        assert -310_000 < kiosk.clock_offset_ms < -290_000
    # An offline scan is stamped on the server's clock, not the kiosk's slow one.
    await context.set_offline(True)
    await wedge_scan(page, staff.code)
    assert (await feedback(page))["tone"] == "queued"
    scanned_at = datetime.now(UTC)
    await context.set_offline(False)
    await wait_for_records(e2e_db, staff.user.id, 1)
    [record] = await records(e2e_db, staff.user.id)
    assert abs((record.check_in_at - scanned_at).total_seconds()) < 30


async def test_offline_scan_too_old_is_held_for_review(
    browser: Browser, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db
) -> None:
    staff: Staff = await make_staff()
    context = await kiosks.context(browser)
    # Captured "80 hours ago" by the kiosk's clock: beyond OFFLINE_MAX_AGE_HOURS (72). The
    # kiosk never reached /kiosks/me, so it cannot know its clock is wrong and correct it.
    await context.add_init_script(SLOW_CLOCK.replace("MINUTES", str(80 * 60)))
    await context.route("**/api/v1/kiosks/me", lambda route: route.abort())
    page = await kiosks.open_paired(context, staff)
    await context.set_offline(True)
    await wedge_scan(page, staff.code)
    assert (await feedback(page))["tone"] == "queued"
    await context.set_offline(False)
    await page.locator("#queue-badge").wait_for(state="hidden", timeout=15_000)
    async with e2e_db() as session:
        [event] = await session.scalars(
            select(ScanEvent).where(ScanEvent.kiosk_id == staff.kiosk.id)
        )
    assert event.result == "held"
    assert event.review_status == "pending"
    assert await records(e2e_db, staff.user.id) == []


async def test_controls_are_labelled_and_work_from_the_keyboard(
    browser: Browser, kiosks: Kiosks, make_staff: MakeStaff
) -> None:
    staff: Staff = await make_staff()
    context = await kiosks.context(browser)
    page = await kiosks.open_paired(context, staff)
    assert await page.get_by_label("Camera").count() == 1
    language = page.get_by_label("Language")
    await language.focus()
    await page.keyboard.press("ArrowDown")  # English → Español, no mouse
    await page.wait_for_function("document.documentElement.lang === 'es'")
    assert await page.inner_text(".prompt h1") == "Muestra tu credencial"
    # Phone-sized screen: everything still fits side to side.
    await page.set_viewport_size({"width": 390, "height": 844})
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await screenshot(page, "kiosk-ready-phone-es")


async def test_unknown_token_shows_the_unpaired_screen(
    browser: Browser, kiosks: Kiosks, make_staff: MakeStaff
) -> None:
    staff: Staff = await make_staff()
    staff.token = "not-a-token-this-server-issued"
    page = await (await kiosks.context(browser)).new_page()
    await page.goto("/")
    await page.evaluate(
        "p => localStorage.setItem('tapwork.kiosk', JSON.stringify(p))", staff.pairing
    )
    await page.reload()
    await page.wait_for_selector("[data-screen=unpaired]")
    await screenshot(page, "kiosk-unpaired")
    await page.get_by_role("button", name="Pair again").click()
    await page.wait_for_selector("[data-screen=pairing]")


async def test_without_a_camera_the_wedge_still_scans(
    playwright: Playwright, kiosks: Kiosks, make_staff: MakeStaff, e2e_db: Db
) -> None:
    staff: Staff = await make_staff()
    no_camera = [a for a in BASE_ARGS if a != "--use-fake-device-for-media-stream"]
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=no_camera
    )
    try:
        page = await kiosks.open_paired(await kiosks.context(browser), staff)
        await page.locator("#camera-note").wait_for()
        assert "use the badge scanner" in await page.inner_text("#camera-note")
        # An empty state says what to use instead, where a black preview box used to be.
        await expect(page.locator("#no-camera")).to_contain_text("badge scanner")
        assert await page.locator("video").count() == 0
        await wedge_scan(page, staff.code)
        assert "Checked in" in (await feedback(page))["text"]
        await screenshot(page, "kiosk-no-camera")
    finally:
        await browser.close()
    assert len(await records(e2e_db, staff.user.id)) == 1
