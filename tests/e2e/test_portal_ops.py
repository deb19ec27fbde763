"""Operations pages in Debian's Chromium against the real API and PostgreSQL: bulk retry of
failed mail with a confirmation naming the count, the incidents page (English and Spanish,
times with their zone named), and kiosk fleet health as the Scanner App reports it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Locator, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.kiosk.models import Kiosk
from tapwork.kit.security import hash_token, new_token
from tapwork.notification import incidents
from tapwork.notification.models import OutboxEmail
from tests.e2e.conftest import Kiosks, MakeStaff, screenshot, wedge_scan
from tests.e2e.test_portal import make_org, nav_to, sign_in

Db = async_sessionmaker[AsyncSession]


def _silent(kiosk: str, last_seen: datetime) -> dict[str, object]:
    return {
        "kiosk": kiosk,
        "location": "Madrid HQ",
        "timezone": "Europe/Madrid",
        "minutes": 15,
        "last_seen_at": last_seen.isoformat(),
    }


async def test_admin_retries_failed_mail_in_bulk_after_confirming_the_count(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    tag = uuid.uuid4().hex[:8]
    async with e2e_db() as session:
        rows = [
            OutboxEmail(
                kind=kind,
                to_address=f"outage-{tag}-{n}@example.com",
                status="failed",
                attempts=8,
                last_error="smtp 127.0.0.1:25: Connect call failed",
            )
            for n, kind in enumerate(["late_alert", "late_alert", "password_reset"])
        ]
        session.add_all(rows)
        await session.commit()
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.admin)
    await nav_to(page, "Email delivery")

    filters = page.locator("form.filters")
    await filters.locator("[name=to]").fill(f"outage-{tag}")
    await filters.locator("[name=status]").select_option("failed")
    await filters.get_by_role("button", name="Apply filters").click()
    await expect(page.locator("main tbody tr")).to_have_count(3)
    await page.locator("#retry-all").click()
    dialog = page.locator("dialog")
    await expect(dialog).to_contain_text("Retry 3 failed emails?")
    await screenshot(page, "portal-emails-retry-all")
    await dialog.get_by_role("button", name="Retry failed mail").click()

    await expect(page.get_by_text("3 emails queued again.")).to_be_visible()
    await expect(page.locator("main tbody tr")).to_have_count(0)  # the list shows failed only
    async with e2e_db() as session:
        statuses = await session.scalars(
            select(OutboxEmail.status).where(OutboxEmail.to_address.like(f"outage-{tag}-%"))
        )
        assert list(statuses) == ["queued"] * 3
    # Nothing failed matches any more: the button says so instead of asking.
    await page.locator("#retry-all").click()
    await expect(page.get_by_text("No failed email matches these filters.")).to_be_visible()


async def test_incidents_page_shows_open_and_resolved_in_english_and_spanish(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    async with e2e_db() as session:
        await incidents.raise_incident(
            session,
            f"kiosk.silent.{uuid.uuid4()}",
            code="kiosk.silent",
            params=_silent(f"Gate {tag}", now - timedelta(minutes=35)),
            now=now - timedelta(minutes=20),
        )
        await incidents.raise_incident(
            session,
            f"job.report-{tag}",
            code="job.failed",
            params={"task": f"report-{tag}"},
            now=now - timedelta(hours=3),
        )
        await incidents.clear_incident(session, f"job.report-{tag}", now=now - timedelta(hours=2))
        await session.commit()
    context = await kiosks.context(browser, timezone_id="America/New_York")
    page = await context.new_page()
    await sign_in(page, org.admin)
    await nav_to(page, "Incidents")

    open_row = page.get_by_test_id("incidents-open").locator("tr", has_text=f"Gate {tag}")
    await expect(open_row).to_contain_text("Silent kiosk")
    await expect(open_row).to_contain_text(f"Kiosk silent: Gate {tag} (Madrid HQ)")
    await expect(open_row).to_contain_text("Still open")
    await expect(open_row).to_contain_text("(New York time)")
    resolved = page.get_by_test_id("incidents-recent").locator("tr", has_text=f"report-{tag}")
    await expect(resolved).to_contain_text(f"Scheduled job failing: report-{tag}")
    await expect(resolved).not_to_contain_text("Still open")
    await open_row.locator("summary").click()
    await expect(open_row).to_contain_text("has not been heard from for 0h 15m or more")
    await expect(open_row).to_contain_text("Last seen: ")
    await screenshot(page, "portal-incidents")

    await page.locator("#language").select_option("es")
    await expect(page.locator("main h1")).to_have_text("Incidencias")
    await expect(open_row).to_contain_text("Quiosco sin señal")
    await expect(open_row).to_contain_text("Sigue abierta")
    await expect(open_row).to_contain_text("(hora de New York)")
    await expect(resolved).to_contain_text("Tarea programada fallando")
    # The incident itself, not only the page around it, reads in Spanish: written from its code
    # and params (the API's English subject and message are for other clients).
    await expect(open_row).to_contain_text(f"Quiosco sin señal: Gate {tag} (Madrid HQ)")
    await expect(open_row).to_contain_text("lleva 0h 15m o más sin dar señal")
    await expect(open_row).to_contain_text("Última señal: ")
    await expect(open_row).not_to_contain_text("Kiosk silent")
    await expect(resolved).to_contain_text(f"Tarea programada fallando: report-{tag}")
    await expect(resolved).not_to_contain_text("Scheduled job failing")
    await screenshot(page, "portal-incidents-es")


async def test_hr_does_not_get_the_incidents_page(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.hr)
    await expect(page.locator("#nav").get_by_role("link", name="Incidents")).to_have_count(0)


async def _wait_for_queue(db: Db, kiosk_id: uuid.UUID, expected: int) -> None:
    for _ in range(100):
        async with db() as session:
            if await session.scalar(select(Kiosk.offline_queue).where(Kiosk.id == kiosk_id)) == (
                expected
            ):
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the kiosk never reported {expected} queued scans")


async def test_kiosks_page_flags_silent_drifting_and_queued_kiosks(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, make_staff: MakeStaff
) -> None:
    org = await make_org(e2e_db)
    staff = await make_staff("Quinn")
    tag = uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    async with e2e_db() as session:
        held = await session.get(Kiosk, staff.kiosk.id)
        assert held is not None
        held.name = f"0 Held {tag}"  # kiosks are listed by name: on the first page
        others = {
            name: Kiosk(
                name=f"0 {name} {tag}",
                location_id=held.location_id,
                token_hash=hash_token(new_token()),
                paired_at=now - timedelta(days=1),
                last_seen_at=now - timedelta(minutes=minutes),
                clock_offset_ms=offset,
                offline_queue=0,
            )
            for name, minutes, offset in [("Fine", 1, 400), ("Drift", 1, -185_000), ("Mute", 50, 0)]
        }
        session.add_all(others.values())
        await session.flush()
        await incidents.raise_incident(
            session,
            f"kiosk.silent.{others['Mute'].id}",
            code="kiosk.silent",
            params=_silent(others["Mute"].name, now - timedelta(minutes=50)),
            now=now,
        )
        await session.commit()

    # The Scanner App holds a scan it cannot send, and says so on its next call to the API.
    kiosk = await kiosks.open_paired(await kiosks.context(browser), staff)
    await kiosk.route("**/api/v1/attendance", lambda route: route.abort())
    await wedge_scan(kiosk, staff.code)
    await expect(kiosk.locator("#queue-badge")).to_have_attribute("data-count", "1")
    await kiosk.reload()  # it starts again: its first call carries the queue length
    await kiosk.wait_for_selector("[data-screen=ready]")
    await _wait_for_queue(e2e_db, staff.kiosk.id, 1)

    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.admin)
    await nav_to(page, "Kiosks")

    def row(name: str) -> Locator:
        return page.locator("main tbody tr", has_text=f"0 {name} {tag}")

    await expect(row("Fine").locator("[data-flag]")).to_have_attribute("data-flag", "ok")
    await expect(row("Drift").locator("[data-flag=drifting]")).to_have_text("Clock off by 185 s")
    await expect(row("Mute").locator("[data-flag=silent]")).to_contain_text("Silent since")
    await expect(row("Held").locator("[data-flag=queued]")).to_have_text("Holding 1 scans")
    await screenshot(page, "portal-kiosks-health")

    # Once the scan goes through, the queue drains and the kiosk reports it at once.
    await kiosk.unroute("**/api/v1/attendance")
    await kiosk.evaluate("window.dispatchEvent(new Event('online'))")
    await _wait_for_queue(e2e_db, staff.kiosk.id, 0)
    await page.reload()
    await expect(row("Held").locator("[data-flag]")).to_have_attribute("data-flag", "ok")
