"""Issue 15, the last pieces, in Debian's Chromium against the real API and PostgreSQL: held
offline scans read in their kiosk's zone, permissions in words on the Roles page, and dashboard
chart dates that never overlap (desktop and phone). The viewer's browser is in Madrid while the
branch is in New York (test_portal_truth.make_branch). Screenshots in both languages.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, time, timedelta

from playwright.async_api import Browser, Page, expect

from tapwork.attendance.models import AttendanceRecord, ScanEvent
from tapwork.kiosk.models import Kiosk
from tapwork.kit.security import hash_token, new_token
from tests.e2e.conftest import Kiosks, screenshot
from tests.e2e.test_portal import nav_to, sign_in
from tests.e2e.test_portal_truth import NEW_YORK, VIEWER, Db, make_branch

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def test_held_scans_and_the_dashboard_are_shown_on_their_locations_clock(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    branch = await make_branch(e2e_db)
    captured = datetime.combine(branch.day, time(9, 2), NEW_YORK).astimezone(UTC)
    async with e2e_db() as session:
        assert branch.employee.location_id is not None
        kiosk = Kiosk(
            name="Lobby", location_id=branch.employee.location_id,
            token_hash=hash_token(new_token()), paired_at=captured,
        )  # fmt: skip
        session.add(kiosk)
        await session.flush()
        session.add(
            ScanEvent(
                kiosk_id=kiosk.id, client_scan_id=uuid.uuid4().hex, payload_hash="0" * 64,
                code_data="held", user_id=branch.employee.id, result="held",
                error_code="OFFLINE_TOO_OLD", captured_at=captured,
                received_at=captured + timedelta(hours=1, minutes=30), response={},
                review_status="pending",
            )
        )  # fmt: skip
        # A late arrival today in New York, so the dashboard lists it.
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        session.add(
            AttendanceRecord(
                user_id=branch.employee.id, location_id=branch.employee.location_id,
                shift_id=branch.employee.shift_id, work_date=now.astimezone(NEW_YORK).date(),
                check_in_at=now - timedelta(minutes=1), check_out_at=now, status="late",
                minutes_late=7,
            )
        )  # fmt: skip
        await session.commit()
    page = await (await kiosks.context(browser, **VIEWER)).new_page()
    await sign_in(page, branch.hr)
    # The dashboard too reads times on the location's clock: who is in (yesterday's open
    # record) and who was late today.
    new_york = f"{(now - timedelta(minutes=1)).astimezone(NEW_YORK):%H:%M} (New York time)"
    live = page.locator("section.live .card", has_text=branch.location)
    await expect(live).to_contain_text(f"{branch.employee.full_name} · 09:02 (New York time)")
    late = page.locator("main tbody tr", has_text=branch.employee.full_name)
    await expect(late).to_contain_text(new_york)
    await screenshot(page, "portal-dashboard-other-zone")
    await nav_to(page, "Review")
    row = page.locator("main tbody tr", has_text=branch.employee.full_name)
    # Captured 09:02 and received 10:32 in New York, labelled; this Madrid browser says 15:02.
    await expect(row).to_contain_text("09:02 (New York time)")
    await expect(row).to_contain_text("10:32 (New York time)")
    await expect(row).to_contain_text(branch.location)
    await expect(row).not_to_contain_text("15:02")
    await expect(row).to_contain_text("Sent too long after it was scanned offline")  # not a code
    await screenshot(page, "portal-review-other-zone")
    await page.locator("#language").select_option("es")
    await expect(row).to_contain_text("9:02 (hora de New York)")
    await expect(row).to_contain_text("Enviada demasiado tiempo después de leerse sin conexión")
    await screenshot(page, "portal-review-other-zone-es")


async def test_the_roles_page_names_permissions_in_words_with_the_raw_name_a_click_away(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    branch = await make_branch(e2e_db)
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, branch.admin)
    await nav_to(page, "Roles and permissions")
    row = page.locator("main tbody tr", has_text="HR manager")
    cell = row.locator(".perm-list")
    await expect(row).to_contain_text("A supervisor for everyone")  # its description in words
    await expect(cell.locator("li[data-permission='users:read_all']")).to_have_text(
        "See every employee"
    )
    raw = cell.locator("details.raw code")
    await expect(raw).to_be_hidden()  # the API's names: one click away
    await cell.get_by_text("Names in the API").click()
    await expect(raw).to_be_visible()
    await expect(raw).to_contain_text("users:read_all")
    await screenshot(page, "portal-roles-in-words")

    # The role editor: words first, the raw name as a quieter second line.
    await page.get_by_role("button", name="New role").click()
    dialog = page.locator("dialog")
    option = dialog.locator("fieldset.perms label", has=page.locator("input[value='audit:read']"))
    await expect(option.locator(".perm-words")).to_have_text("Read the audit log")
    await expect(option.locator(".perm-raw")).to_have_text("audit:read")
    await dialog.get_by_label("Read the audit log").check()  # the words label the checkbox
    await screenshot(page, "portal-role-editor")
    await dialog.get_by_role("button", name="Cancel").click()

    await page.locator("#language").select_option("es")
    await expect(page.locator("main h1")).to_have_text("Roles y permisos")
    row = page.locator("main tbody tr", has_text="Responsable de RR. HH.")
    cell = row.locator(".perm-list")
    await expect(row).to_contain_text("Un supervisor de todos")
    await expect(cell.locator("li[data-permission='users:read_all']")).to_have_text(
        "Ver a todos los empleados"
    )
    await expect(cell.locator("details.raw summary")).to_have_text("Nombres en la API")
    await screenshot(page, "portal-roles-in-words-es")


async def _date_labels(page: Page) -> list[dict[str, float]]:
    """The boxes of the chart's date labels (its other texts are the numbers of the y axis)."""
    await expect(page.locator("svg.chart text").first).to_be_attached()
    return list(
        await page.eval_on_selector_all(
            "svg.chart > text",
            """els => els.filter(el => !/^\\d+$/.test(el.textContent)).map(el => {
              const r = el.getBoundingClientRect();
              const box = el.ownerSVGElement.getBoundingClientRect();
              return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                      height: r.height, min: box.left, max: box.right};
            })""",
        )
    )


async def test_the_dashboard_charts_dates_never_overlap_on_a_desktop_or_a_phone(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    branch = await make_branch(e2e_db)
    for name, options in (
        ("desktop", {"viewport": {"width": 1280, "height": 800}}),
        ("phone", PHONE),
    ):
        page = await (await kiosks.context(browser, **options)).new_page()
        await sign_in(page, branch.hr)
        for lang in ("en", "es"):
            await page.locator("#language").select_option(lang)
            await expect(page.locator("main h1")).to_have_text(
                "Dashboard" if lang == "en" else "Panel"
            )
            labels = sorted(await _date_labels(page), key=lambda b: b["left"])
            assert len(labels) >= 4, (name, lang, labels)
            for before, after in itertools.pairwise(labels):
                assert before["right"] <= after["left"], (name, lang, labels)
            for label in labels:  # inside the chart (not clipped) and big enough to read
                assert label["min"] <= label["left"]
                assert label["right"] <= label["max"] + 0.5
                assert label["height"] >= 9, (name, lang, label)
            await page.locator("svg.chart").scroll_into_view_if_needed()
            await screenshot(page, f"portal-dashboard-chart-{name}-{lang}")
        await page.context.close()
