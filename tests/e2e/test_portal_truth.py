"""Issue 15 in a real browser: the portal tells the truth.

The viewer's browser runs in Madrid (Playwright's `timezone_id`) while the records happen in
New York, so a time shown in the browser's zone would be visibly wrong. Also: errors next to
their field in both languages, the audit log in words with filters kept in the URL, no
sideways overflow on a phone, dialogs that fit a short screen, and /docs and /redoc with
every other host blocked. Screenshots go to artifacts/screenshots/ (both languages, phone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, Page, Route, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord
from tapwork.devstack.embedded_pg import free_port
from tapwork.devstack.mailcatcher import MailStore, create_inbox_app
from tapwork.user.models import User
from tests.e2e.conftest import LOCAL_HOSTS, Kiosks, screenshot
from tests.e2e.servers import ThreadedServer
from tests.e2e.test_portal import nav_to, sign_in
from tests.support import factories as f

Db = async_sessionmaker[AsyncSession]
NEW_YORK = ZoneInfo("America/New_York")
VIEWER = {"timezone_id": "Europe/Madrid"}


@dataclass
class Branch:
    hr: User
    admin: User
    employee: User
    record_id: object
    day: date
    location: str


async def make_branch(db: Db) -> Branch:
    """A New York branch with a late arrival at 09:02 local time, yesterday."""
    day = (datetime.now(NEW_YORK) - timedelta(days=1)).date()
    check_in = datetime.combine(day, time(9, 2), NEW_YORK).astimezone(UTC)
    async with db() as session:
        location = await f.make_location(
            session, name=f.unique("New York "), timezone="America/New_York"
        )
        shift = await f.make_shift(
            session, name=f.unique("NY day "), working_days=[1, 2, 3, 4, 5, 6, 7]
        )
        department = await f.make_department(session, name=f.unique("Branch "))
        people = {
            name: await f.make_user(
                session, role_name=role, first_name=name, shift=shift, location=location,
                department=department,
            )
            for name, role in (("Helena", "hr_manager"), ("Adrian", "admin"), ("Nadia", "employee"))
        }  # fmt: skip
        record = AttendanceRecord(
            user_id=people["Nadia"].id, location_id=location.id, shift_id=shift.id,
            work_date=day, check_in_at=check_in, status="late", minutes_late=2,
        )  # fmt: skip
        session.add(record)
        await session.commit()
        return Branch(
            people["Helena"], people["Adrian"], people["Nadia"], record.id, day, location.name
        )


async def test_times_are_shown_where_they_happened_and_errors_at_their_field(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    branch = await make_branch(e2e_db)
    hr = await (await kiosks.context(browser, **VIEWER)).new_page()
    await sign_in(hr, branch.hr)
    await nav_to(hr, "Attendance records")
    await hr.get_by_label("Employee", exact=True).select_option(label=branch.employee.full_name)
    await hr.locator("form[role=search]").get_by_role("button", name="Apply filters").click()
    # The filters are in the URL: a reload shows the same list.
    await hr.wait_for_url(f"**user_id={branch.employee.id}**")
    await hr.reload()
    row = hr.locator("main tbody tr", has_text=branch.employee.full_name)
    await expect(row).to_have_count(1)
    # 09:02 in New York, labelled, although this browser's clock says 15:02.
    await expect(row).to_contain_text("09:02 (New York time)")
    await expect(row).not_to_contain_text("15:02")
    await expect(row).to_contain_text("Kiosk")  # the source in words, not "online"
    await screenshot(hr, "portal-attendance-other-zone")

    await row.get_by_role("button", name="Correct").click()
    dialog = hr.locator("dialog")
    await expect(dialog.locator("[data-testid=zone-hint]")).to_contain_text("America/New_York")
    await expect(dialog.get_by_label("Check-in")).to_have_value(f"{branch.day}T09:02")
    # A check-out before the check-in: the sentence sits next to the check-out field.
    await dialog.get_by_label("Check-out").fill(f"{branch.day}T08:00")
    await dialog.get_by_label("Reason").fill("Left without scanning; confirmed by the manager")
    await dialog.get_by_role("button", name="Save").click()
    check_out_field = dialog.locator(".field", has=hr.get_by_label("Check-out"))
    await expect(check_out_field.locator(".field-error")).to_have_text(
        "Check-out must be after check-in."
    )
    await expect(dialog.get_by_label("Check-out")).to_have_attribute("aria-invalid", "true")
    await expect(dialog).not_to_contain_text("check_in_at")
    await screenshot(hr, "portal-correction-field-error")
    await dialog.get_by_label("Check-out").fill(f"{branch.day}T17:30")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_have_count(0)
    await expect(row).to_contain_text("17:30 (New York time)")
    await expect(row.locator("[data-testid=corrected]")).to_have_text("Corrected")
    async with e2e_db() as session:
        record = await session.get(AttendanceRecord, branch.record_id)
        assert record is not None
        assert record.check_out_at is not None
        assert record.check_out_at.astimezone(NEW_YORK).time() == time(17, 30)

    # The same mistake in Spanish gets the Spanish sentence.
    await hr.locator("#language").select_option("es")
    row = hr.locator("main tbody tr", has_text=branch.employee.full_name)
    await expect(row).to_contain_text("9:02 (hora de New York)")
    await row.get_by_role("button", name="Corregir").click()
    await dialog.get_by_label("Salida").fill(f"{branch.day}T07:00")
    await dialog.get_by_label("Motivo").fill("Prueba de un error")
    await dialog.get_by_role("button", name="Guardar").click()
    await expect(dialog.locator(".field-error")).to_have_text(
        "La salida debe ser posterior a la entrada."
    )
    await screenshot(hr, "portal-correction-field-error-es")
    await dialog.get_by_role("button", name="Cancelar").click()
    await hr.locator("#language").select_option("en")

    # The employee sees the same local times, the mark, and their own shift in words.
    me = await (await kiosks.context(browser, **VIEWER)).new_page()
    await sign_in(me, branch.employee)
    await nav_to(me, "My history")
    await me.get_by_label("From").fill(str(branch.day - timedelta(days=1)))
    await me.get_by_role("button", name="Apply filters").click()
    history = me.locator("main tbody tr")
    await expect(history).to_contain_text("09:02 (New York time)")
    await expect(history.locator("[data-testid=corrected]")).to_have_count(1)
    await screenshot(me, "portal-my-history-other-zone")
    await nav_to(me, "My settings")
    placement = me.locator("[data-testid=placement]")
    await expect(placement).to_contain_text(branch.location)
    await expect(placement).to_contain_text("09:00\u201317:00")
    await expect(placement).to_contain_text("Employee")


async def test_the_audit_log_reads_as_words_with_raw_values_one_click_away(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, api_server: str
) -> None:
    branch = await make_branch(e2e_db)
    # HR corrects through the API, as the portal does.
    async with httpx.AsyncClient(base_url=api_server) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"email": branch.hr.email, "password": f.PASSWORD}
        )
        token = login.json()["access_token"]
        check_out = datetime.combine(branch.day, time(17, 30), NEW_YORK).isoformat()
        fixed = await client.put(
            f"/api/v1/attendance/{branch.record_id}",
            json={"check_out_at": check_out, "reason": "Forgot to scan out"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert fixed.status_code == 200, fixed.text

    page = await (await kiosks.context(browser, **VIEWER)).new_page()
    await sign_in(page, branch.admin)
    await nav_to(page, "Audit log")
    action = page.get_by_label("Action")
    # The filter offers the actions in words, not a text box to guess them in.
    await action.select_option(label="Corrected an attendance record")
    await page.get_by_role("button", name="Apply filters").click()
    await page.wait_for_url("**action=attendance.correction_update**")
    await page.reload()
    await expect(page.get_by_label("Action")).to_have_value("attendance.correction_update")
    entry = page.locator("main tbody tr", has_text=branch.employee.full_name).first
    await expect(entry).to_contain_text("Corrected an attendance record")
    await expect(entry).to_contain_text(branch.hr.full_name)  # who, by name
    await expect(entry).to_contain_text("Check-out: — → ")
    await expect(entry).to_contain_text("17:30 (New York time)")
    await expect(entry.locator("ul.changes")).not_to_contain_text("check_out_at")
    await entry.get_by_text("Raw values").click()
    await expect(entry.locator("pre")).to_contain_text('"check_out_at"')
    await screenshot(page, "portal-audit-in-words")
    await page.locator("#language").select_option("es")
    await expect(page.locator("main tbody tr").first).to_contain_text(
        "Corrigió un registro de asistencia"
    )
    await screenshot(page, "portal-audit-in-words-es")


PAGES = [
    "/", "/employees", "/attendance", "/review", "/departments", "/shifts", "/locations",
    "/holidays", "/kiosks", "/roles", "/audit", "/emails", "/me/badge", "/me/history",
    "/me/settings",
]  # fmt: skip


async def _overflow(page: Page) -> list[str]:
    """Elements whose right edge passes the viewport: what makes a phone page scroll sideways."""
    return list(
        await page.evaluate(
            """() => {
              const width = document.documentElement.clientWidth;
              if (document.documentElement.scrollWidth <= width) return [];
              return [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > width + 0.5)
                .slice(0, 5).map(el => el.tagName + '.' + el.className + '#' + el.id);
            }"""
        )
    )


async def test_every_page_fits_a_phone_in_both_languages(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    branch = await make_branch(e2e_db)
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    page = await (await kiosks.context(browser, **phone, **VIEWER)).new_page()
    await sign_in(page, branch.admin)
    # The favicon is there, and a reload leaves no focus frame around the page.
    icon = await page.locator("link[rel=icon]").get_attribute("href")
    assert icon
    assert (await page.request.get(icon)).ok
    await page.reload()
    await expect(page.locator("main h1")).to_be_visible()
    assert await page.evaluate("document.activeElement.id") == "content"
    assert await page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "none"
    overflowing: dict[str, list[str]] = {}
    for lang in ("en", "es"):
        await page.locator("#language").select_option(lang)
        for path in PAGES:
            await page.get_by_role("button", name="Menu" if lang == "en" else "Menú").click()
            await page.locator(f'#nav a[href="/portal{path if path != "/" else "/"}"]').click()
            await expect(page.locator("main .loading")).to_have_count(0)
            await expect(page.locator("main h1")).to_be_visible()
            await expect(page.locator("main [role=alert]")).to_have_count(0)
            if found := await _overflow(page):
                overflowing[f"{lang} {path}"] = found
            name = path.strip("/").replace("/", "-") or "dashboard"
            await screenshot(page, f"portal-phone-{lang}-{name}")
    assert overflowing == {}


async def test_the_invite_dialog_fits_a_short_screen_with_its_error_and_buttons(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    branch = await make_branch(e2e_db)
    for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 800}):
        page = await (await kiosks.context(browser, viewport=viewport)).new_page()
        await sign_in(page, branch.hr)
        await page.goto("/portal/employees")
        await page.locator("#invite").click()
        dialog = page.locator("dialog")
        await dialog.get_by_label("First name").fill("Short")
        await dialog.get_by_label("Last name").fill("Screen")
        await dialog.get_by_label("Email").fill("someone@nowhere")  # no dot: the API refuses
        await dialog.get_by_label("Employee ID").fill(f.unique("S"))
        send = dialog.get_by_role("button", name="Send invitation")
        await send.click()
        error = dialog.locator(".field-error")
        await expect(error).to_have_text("Enter a valid email address, like ana@example.com.")
        await expect(send).to_be_in_viewport()
        await expect(dialog.get_by_role("button", name="Cancel")).to_be_in_viewport()
        await expect(dialog.locator("[role=alert]")).to_be_visible()
        await screenshot(page, f"portal-invite-dialog-{viewport['width']}x800")


async def test_api_docs_render_with_every_other_host_blocked(
    browser: Browser, kiosks: Kiosks, api_server: str
) -> None:
    context = await kiosks.context(browser)
    blocked: list[str] = []

    async def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    await context.route("**/*", offline)
    page = await context.new_page()
    await page.goto(f"{api_server}/docs")
    title = page.get_by_role("heading", name=re.compile("TAPWORK API"))
    await expect(title.first).to_be_visible(timeout=20_000)
    await expect(page.locator(".opblock").first).to_be_visible()
    await screenshot(page, "api-docs-offline")
    await page.goto(f"{api_server}/redoc")
    await expect(page.locator("h1", has_text="TAPWORK API")).to_be_visible(timeout=20_000)
    await expect(page.get_by_text("/api/v1/attendance").first).to_be_attached()
    await screenshot(page, "api-redoc-offline")
    assert blocked == []


async def test_a_link_in_a_mail_in_the_inbox_opens_the_portal(
    browser: Browser, kiosks: Kiosks, static_server: str
) -> None:
    """The dev inbox on 8025: "Accept the invitation" opens the portal in a tab (it used to
    blank the sandboxed preview)."""
    store = MailStore()
    target = f"{static_server}/portal/login"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "t@x.test", "ana@x.test", "Invite"
    message.set_content("text")
    message.add_alternative(f'<p><a href="{target}">Accept the invitation</a></p>', subtype="html")
    await store.handle_DATA(None, None, _Envelope(message.as_bytes()))
    server = ThreadedServer(create_inbox_app(store), free_port()).start()
    try:
        context = await kiosks.context(browser)
        page = await context.new_page()
        await page.goto(f"{server.url}/messages/{store.all()[0].id}")
        async with context.expect_page() as opened:
            await (
                page.frame_locator("iframe")
                .get_by_role("link", name="Accept the invitation")
                .click()
            )
        portal = await opened.value
        await portal.wait_for_url(target)
        await expect(portal.locator("main h1")).to_have_text("Sign in to TAPWORK")
        await expect(page.locator("iframe")).to_be_visible()  # the preview is still there
    finally:
        server.stop()


@dataclass
class _Envelope:
    """What aiosmtpd hands the store for one message."""

    content: bytes
    original_content: bytes | None = None
    mail_from: str = "t@x.test"
    rcpt_tos: tuple[str, ...] = ("ana@x.test",)
