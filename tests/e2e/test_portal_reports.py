"""The portal's Reports page in Chromium against the real API: preview and an XLSX download,
department scoping for a supervisor, a large report prepared by the worker with its progress."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import openpyxl
from playwright.async_api import Browser, expect
from sqlalchemy import select

from tapwork.attendance.models import AttendanceRecord
from tapwork.config import Settings
from tapwork.report import exports
from tapwork.report.models import ReportSchedule
from tapwork.worker import jobs
from tests.e2e.conftest import Kiosks, screenshot
from tests.e2e.test_portal import Db, Org, make_org, nav_to, sign_in
from tests.support import factories as f


async def _worked_yesterday(
    e2e_db: Db, org: Org, *, until: tuple[int, int], worked: int, overtime: int
) -> datetime:
    """Mina, on the books for a month, worked yesterday from 08:00 to `until` (UTC)."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    async with e2e_db() as session:
        mine = await session.merge(org.mine)
        mine.created_at = yesterday - timedelta(days=30)
        session.add(
            AttendanceRecord(
                user_id=mine.id, shift_id=mine.shift_id, location_id=mine.location_id,
                work_date=yesterday.date(), check_in_at=yesterday.replace(hour=8, minute=0),
                check_out_at=yesterday.replace(hour=until[0], minute=until[1]),
                status="on_time", minutes_late=0, worked_minutes=worked,
                overtime_minutes=overtime, early_leave_minutes=0,
            )
        )  # fmt: skip
        await session.commit()
    return yesterday


async def test_hr_previews_and_downloads_a_report(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, api_server: str
) -> None:
    org = await make_org(e2e_db)
    yesterday = await _worked_yesterday(e2e_db, org, until=(16, 0), worked=480, overtime=0)
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.hr)
    # The dashboard HR lands on reads the same SQL (GET /reports/dashboard).
    await expect(page.locator("#absent-title")).to_contain_text("Absent today")
    await expect(page.locator("figure.chart-box svg g[data-date]")).to_have_count(30)
    await nav_to(page, "Reports")
    day = yesterday.date().isoformat()
    await page.get_by_label("From").fill(day)
    await page.get_by_label("To").fill(day)
    await page.get_by_label("Department").select_option(label=org.department)
    await page.get_by_role("button", name="Preview").click()
    preview = page.locator("[data-testid=report-preview] table")
    await expect(preview).to_contain_text(org.mine.employee_id)
    await expect(preview).not_to_contain_text(org.other.employee_id)
    await screenshot(page, "portal-reports")

    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download XLSX").click()
    download = await info.value
    book = openpyxl.load_workbook(io.BytesIO((await download.path()).read_bytes()))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    header = rows[0]
    mine_row = dict(zip(header, next(r for r in rows if r[0] == org.mine.employee_id), strict=True))
    assert (mine_row["Days present"], mine_row["Hours worked"]) == (1, 8)


async def test_supervisor_reports_only_on_their_department(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.supervisor)
    await nav_to(page, "Reports")
    options = await page.get_by_label("Department").locator("option").all_inner_texts()
    assert org.other_department not in options
    await page.get_by_role("button", name="Preview").click()
    preview = page.locator("[data-testid=report-preview]")
    await expect(preview.locator("table")).to_contain_text(org.mine.employee_id)
    await expect(preview).not_to_contain_text(org.other.employee_id)


async def test_hr_schedules_a_report_and_deletes_it(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.hr)
    await nav_to(page, "Reports")
    schedules = page.locator("[data-testid=schedules]")
    await expect(schedules).to_contain_text("No scheduled reports yet.")
    await page.get_by_label("Report", exact=True).select_option(label="Payroll timesheet")
    await page.get_by_label("Department").select_option(label=org.department)
    await page.get_by_label("Format").select_option("pdf")
    await page.get_by_label("Every").select_option(label="Month")
    await page.get_by_role("button", name="Schedule it").click()
    row = schedules.locator("tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Payroll timesheet")
    await expect(row).to_contain_text(org.department)
    await expect(row).to_contain_text("PDF")
    await expect(row).to_contain_text("Month")
    await screenshot(page, "portal-reports-schedules")
    async with e2e_db() as session:
        [saved] = (
            await session.scalars(
                select(ReportSchedule).where(ReportSchedule.owner_id == org.hr.id)
            )
        ).all()
        assert (saved.kind, saved.format, saved.frequency) == ("timesheet", "pdf", "monthly")
        assert saved.owner_id == org.hr.id
    await page.get_by_role("button", name="Delete the scheduled Payroll timesheet").click()
    await expect(schedules).to_contain_text("No scheduled reports yet.")
    async with e2e_db() as session:
        assert (
            await session.scalars(
                select(ReportSchedule).where(ReportSchedule.owner_id == org.hr.id)
            )
        ).all() == []


async def test_my_history_totals_are_the_attendance_reports_figures(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, api_server: str
) -> None:
    org = await make_org(e2e_db)
    yesterday = await _worked_yesterday(e2e_db, org, until=(17, 30), worked=570, overtime=90)
    start, end = (yesterday - timedelta(days=6)).date().isoformat(), yesterday.date().isoformat()
    async with httpx.AsyncClient(base_url=api_server) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"email": org.hr.email, "password": f.PASSWORD}
        )
        report = await client.get(
            "/api/v1/reports/attendance",
            params={"from": start, "to": end, "employee_id": str(org.mine.id)},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
    [row] = report.json()["rows"]

    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.mine)
    await nav_to(page, "My history")
    await page.locator("input[name=start_date]").fill(start)
    await page.locator("input[name=end_date]").fill(end)
    await page.get_by_role("button", name="Apply filters").click()
    totals = page.locator("[data-testid=totals]")
    present = f"{row['days_present']} of {row['scheduled_days']} scheduled"
    await expect(totals.locator("div", has_text="Days present").locator("dd")).to_have_text(present)
    await expect(totals.locator("div", has_text="Absences").locator("dd")).to_have_text(
        str(row["absences"])
    )
    worked = f"{row['worked_minutes'] // 60}h {row['worked_minutes'] % 60:02d}m"
    await expect(totals.locator("div", has_text="Worked").locator("dd")).to_have_text(worked)
    assert row["worked_minutes"] == 570


async def test_hr_downloads_a_large_report_prepared_by_the_worker(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, e2e_settings: Settings
) -> None:
    org = await make_org(e2e_db)
    # "Large" is above REPORT_INLINE_ROWS: at 0, any report with a row (Mina's) is. The API
    # server reads this same settings object; the worker below is not running yet.
    e2e_settings.report_inline_rows = 0
    try:
        page = await (await kiosks.context(browser)).new_page()
        await sign_in(page, org.hr)
        await nav_to(page, "Reports")
        exports_list = page.locator("[data-testid=exports]")
        await expect(exports_list).to_contain_text("No exports yet.")
        await page.get_by_label("Department").select_option(label=org.department)
        await page.get_by_role("button", name="Download XLSX").click()
        row = exports_list.locator("tbody tr")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("Attendance summary")
        await expect(row).to_contain_text("Queued")
        await expect(row.locator("progress")).to_be_visible()
        await screenshot(page, "portal-reports-export-progress")
    finally:
        e2e_settings.report_inline_rows = Settings.model_fields["report_inline_rows"].default

    # The worker runs the queued export; the page, polling, offers the file.
    jobs.install_runtime(jobs.Runtime(settings=e2e_settings, sessionmaker=e2e_db))
    try:
        async with jobs.open_app(e2e_settings) as app:
            await app.run_worker_async(wait=False, install_signal_handlers=False,
                                       queues=[exports.QUEUE])  # fmt: skip
    finally:
        jobs.install_runtime(None)
    await expect(row).to_contain_text("Ready", timeout=10_000)
    await expect(row.locator("progress")).to_have_count(0)
    await screenshot(page, "portal-reports-export-ready")
    async with page.expect_download() as info:
        await row.get_by_role("button", name=re.compile(r"^Download attendance_")).click()
    download = await info.value
    assert download.suggested_filename.startswith("attendance_")
    assert download.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO((await download.path()).read_bytes()))
    ids = {r[0] for r in book.worksheets[0].iter_rows(values_only=True)}
    assert org.mine.employee_id in ids
    assert org.other.employee_id not in ids
    # Deleted, it is gone from the list (and from the database).
    await row.get_by_role("button", name="Delete the export").click()
    await expect(exports_list).to_contain_text("No exports yet.")
