"""The attendance records page in Debian's Chromium against the real API and PostgreSQL: its
default range reaches the latest local date of any location, whatever the viewer's clock says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord
from tests.e2e.conftest import Kiosks
from tests.e2e.test_portal import make_org, nav_to, sign_in

Db = async_sessionmaker[AsyncSession]
MADRID, NEW_YORK = ZoneInfo("Europe/Madrid"), ZoneInfo("America/New_York")


def _night_near(now: datetime) -> datetime:
    """02:30 UTC nearest `now` (within 12 h, so tokens and the server's clock still agree):
    already the next day in Madrid, still the evening before in New York, all year round."""
    today = now.replace(hour=2, minute=30, second=0, microsecond=0)
    return min((today + timedelta(days=d) for d in (-1, 0, 1)), key=lambda t: abs(t - now))


async def test_default_range_ends_on_the_latest_date_of_any_location(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)  # its location is in Madrid
    night = _night_near(datetime.now(UTC))
    madrid_day = night.astimezone(MADRID).date()
    assert madrid_day == night.astimezone(NEW_YORK).date() + timedelta(days=1)
    async with e2e_db() as session:
        session.add(
            AttendanceRecord(
                user_id=org.mine.id,
                location_id=org.mine.location_id,
                shift_id=org.mine.shift_id,
                work_date=madrid_day,  # filed on Madrid's today, the New York viewer's tomorrow
                check_in_at=night - timedelta(minutes=20),
                status="early",
            )
        )
        await session.commit()
    context = await kiosks.context(browser, timezone_id="America/New_York")
    await context.clock.set_system_time(night)
    page = await context.new_page()
    await sign_in(page, org.hr)
    await nav_to(page, "Attendance records")

    await expect(page.get_by_label("To", exact=True)).to_have_value(madrid_day.isoformat())
    start = (night.astimezone(NEW_YORK).date() - timedelta(days=6)).isoformat()
    await expect(page.get_by_label("From", exact=True)).to_have_value(start)
    await page.get_by_label("Employee", exact=True).select_option(label=org.mine.full_name)
    await page.locator("form[role=search]").get_by_role("button", name="Apply filters").click()
    await expect(page.locator("main tbody tr", has_text=org.mine.full_name)).to_have_count(1)
