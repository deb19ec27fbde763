"""Portal pages for HR and admins in Debian's Chromium against the real API and PostgreSQL:
every main page renders (English, Spanish, phone), the shift threshold preview, corrections
with a mandatory reason, and the review of held offline scans. Helpers: test_portal.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.badge.models import Badge
from tests.e2e.conftest import Kiosks, Staff, screenshot
from tests.e2e.test_portal import make_org, nav_to, sign_in

Db = async_sessionmaker[AsyncSession]
MakeStaff = Callable[[str], Awaitable[Staff]]


async def test_main_pages_in_english_and_spanish(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.admin)
    for label, shot in [
        ("Dashboard", "portal-dashboard-admin"),
        ("Employees", "portal-employees-admin"),
        ("Departments", "portal-departments"),
        ("Locations", "portal-locations"),
        ("Holidays", "portal-holidays"),
        ("Roles and permissions", "portal-roles"),
        ("Attendance records", "portal-attendance"),
        ("Review", "portal-review"),
        ("Audit log", "portal-audit"),
        ("Email delivery", "portal-emails"),
    ]:
        await nav_to(page, label)
        await expect(page.locator("main [role=alert]")).to_have_count(0)
        await screenshot(page, shot)

    # The shift editor explains its thresholds as they are typed.
    await nav_to(page, "Shifts")
    await page.locator("#new-item").click()
    dialog = page.locator("dialog")
    await dialog.get_by_label("Start").fill("08:00")
    await dialog.get_by_label("Grace (minutes)").fill("10")
    await dialog.get_by_label("Early threshold (minutes)").fill("45")
    preview = dialog.locator("[data-testid=shift-preview]")
    await expect(preview).to_have_text(
        "Arrive before 07:15 = early, until 08:10 = on time, after = late"
    )
    await screenshot(page, "portal-shift-preview")
    await dialog.get_by_role("button", name="Cancel").click()

    await page.locator("#language").select_option("es")
    await expect(page.locator("main h1")).to_have_text("Turnos")
    await expect(page.locator("#nav")).to_contain_text("Empleados")
    assert await page.evaluate("document.documentElement.lang") == "es"
    await screenshot(page, "portal-shifts-es")
    # The same main pages in Spanish (the phone sweep in test_portal_truth.py covers both).
    for label, shot in [
        ("Panel", "portal-dashboard-es"),
        ("Empleados", "portal-employees-es"),
        ("Registros de asistencia", "portal-attendance-es"),
        ("Revisión", "portal-review-es"),
        ("Roles y permisos", "portal-roles-es"),
        ("Registro de auditoría", "portal-audit-es"),
        ("Envío de correos", "portal-emails-es"),
    ]:
        await nav_to(page, label)
        await expect(page.locator("main [role=alert]")).to_have_count(0)
        await screenshot(page, shot)

    # On a phone the navigation folds behind a menu button and tables stack.
    await page.locator("#language").select_option("en")
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(page.locator("#nav")).to_be_hidden()
    await page.get_by_role("button", name="Menu").click()
    await nav_to(page, "Employees")
    await expect(page.locator("#nav")).to_be_hidden()
    await screenshot(page, "portal-employees-phone")


async def test_a_correction_needs_a_reason_and_changes_the_record(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    check_in = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    async with e2e_db() as session:
        record = AttendanceRecord(
            user_id=org.mine.id,
            location_id=org.mine.location_id,
            shift_id=org.mine.shift_id,
            # The day is the location's (Madrid), as the scan would file it.
            work_date=check_in.astimezone(ZoneInfo("Europe/Madrid")).date(),
            check_in_at=check_in,
            status="on_time",
        )
        session.add(record)
        await session.commit()
    # The viewer is in New York; the record's location in Madrid: the form shows Madrid's clock.
    context = await kiosks.context(browser, timezone_id="America/New_York")
    page = await context.new_page()
    await sign_in(page, org.hr)
    await nav_to(page, "Attendance records")
    await page.get_by_label("Employee", exact=True).select_option(label=org.mine.full_name)
    # Madrid is a day ahead of New York for six hours each night: the default range ends on the
    # viewer's today, so reach to tomorrow or a night run misses the record.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    await page.get_by_label("To", exact=True).fill(tomorrow)
    await page.locator("form[role=search]").get_by_role("button", name="Apply filters").click()
    row = page.locator("main tbody tr", has_text=org.mine.full_name)
    await expect(row).to_contain_text("Open")
    await row.get_by_role("button", name="Correct").click()
    dialog = page.locator("dialog")
    check_out = check_in + timedelta(hours=2)
    local = check_out.astimezone(ZoneInfo("Europe/Madrid")).strftime("%Y-%m-%dT%H:%M")
    await dialog.get_by_label("Check-out").fill(local)
    await dialog.get_by_role("button", name="Save").click()
    # No reason: the browser refuses to submit; the dialog stays and nothing changed.
    await expect(dialog).to_be_visible()
    assert await dialog.get_by_label("Reason").evaluate("el => !el.validity.valid")
    await dialog.get_by_label("Reason").fill("Forgot to check out; confirmed by the team lead")
    await screenshot(page, "portal-correction")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_have_count(0)
    await expect(row).not_to_contain_text("Open")
    async with e2e_db() as session:
        fresh = await session.get(AttendanceRecord, record.id)
        assert fresh is not None
        assert fresh.check_out_at == check_out


async def test_hr_approves_and_rejects_held_offline_scans(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, make_staff: MakeStaff
) -> None:
    org = await make_org(e2e_db)
    staff = await make_staff("Heidi")
    captured = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    async with e2e_db() as session:
        badge = await session.scalar(select(Badge).where(Badge.user_id == staff.user.id))
        assert badge is not None
        events = [
            ScanEvent(
                kiosk_id=staff.kiosk.id,
                client_scan_id=uuid.uuid4().hex,
                payload_hash="0" * 64,
                code_data=staff.code,
                user_id=staff.user.id,
                badge_id=badge.id,
                result="held",
                captured_at=captured + timedelta(minutes=i),
                response={},
                review_status="pending",
            )
            for i in range(2)
        ]
        session.add_all(events)
        await session.commit()
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.hr)
    await nav_to(page, "Review")
    rows = page.locator("main tbody tr", has_text=staff.user.full_name)
    await expect(rows).to_have_count(2)
    await screenshot(page, "portal-review-held")
    await rows.first.get_by_role("button", name="Approve").click()
    await expect(rows).to_have_count(1)
    await rows.first.get_by_role("button", name="Reject").click()
    await expect(rows).to_have_count(0)

    async with e2e_db() as session:
        decided = {
            e.review_status: e
            for e in await session.scalars(
                select(ScanEvent).where(ScanEvent.id.in_([e.id for e in events]))
            )
        }
        assert set(decided) == {"approved", "rejected"}
        [record] = await session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.user_id == staff.user.id)
        )
        # The approved scan counts at its capture time, as an offline record.
        assert record.check_in_at == decided["approved"].captured_at
        assert record.source == "offline"
