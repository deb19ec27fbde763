"""The Admin/HR portal and self-service in Debian's Chromium against the real API, PostgreSQL
and SMTP server: invitation by mail through to the employee's badge, kiosk enrolment paired
by the real Scanner App, department scoping for supervisors (UI and API), the token refresh,
and screenshots of the main pages. Every request must stay on 127.0.0.1 (the `kiosks` guard).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.kiosk.models import Kiosk
from tapwork.notification import delivery
from tapwork.user.models import User
from tests.e2e.conftest import Kiosks, screenshot
from tests.support import factories as f
from tests.support.smtp import SmtpServer

Db = async_sessionmaker[AsyncSession]
ACCEPT_URL = re.compile(r"https?://127\.0\.0\.1:\d+/portal/accept-invite\?token=[A-Za-z0-9_\-]+")


@dataclass
class Org:
    """Two departments at one location; a supervisor manages the first only."""

    hr: User
    admin: User
    supervisor: User
    mine: User  # in the supervisor's department
    other: User  # in the other department
    department: str
    other_department: str
    location: str


async def make_org(db: Db) -> Org:
    async with db() as session:
        location = await f.make_location(session, name=f.unique("Portal HQ "))
        shift = await f.make_shift(session, working_days=[1, 2, 3, 4, 5, 6, 7])
        supervisor = await f.make_user(
            session, role_name="supervisor", first_name="Sofia", location=location
        )
        team = await f.make_department(session, name=f.unique("Engineering "), manager=supervisor)
        sales = await f.make_department(session, name=f.unique("Sales "))
        supervisor.department_id = team.id
        org = Org(
            hr=await f.make_user(
                session, role_name="hr_manager", first_name="Helena", shift=shift, location=location
            ),
            admin=await f.make_user(
                session, role_name="admin", first_name="Adrian", shift=shift, location=location
            ),
            supervisor=supervisor,
            mine=await f.make_user(
                session, department=team, first_name="Mina", shift=shift, location=location
            ),
            other=await f.make_user(
                session, department=sales, first_name="Otto", shift=shift, location=location
            ),
            department=team.name,
            other_department=sales.name,
            location=location.name,
        )
        await session.commit()
        return org


async def sign_in(page: Page, user: User) -> None:
    await page.goto("/portal/")
    await page.wait_for_url("**/portal/login**")
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password", exact=True).fill(f.PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector("[data-testid=who]", state="attached")


async def nav_to(page: Page, label: str) -> None:
    await page.locator("#nav").get_by_role("link", name=label, exact=True).click()
    await expect(page.locator("main h1")).to_have_text(label)


async def deliver_mail(settings: Settings, db: Db) -> None:
    """What the worker does: one pass of the outbox delivery loop."""
    await delivery.deliver_batch(db, settings, clock=lambda: datetime.now(UTC))


async def test_hr_invites_an_employee_who_sets_a_password_and_sees_their_badge(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, e2e_settings: Settings, smtp: SmtpServer
) -> None:
    org = await make_org(e2e_db)
    hr = await (await kiosks.context(browser)).new_page()
    await sign_in(hr, org.hr)
    await expect(hr.locator("main h1")).to_have_text("Dashboard")
    await screenshot(hr, "portal-dashboard")

    await nav_to(hr, "Employees")
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    employee_id = f"N{uuid.uuid4().hex[:6]}"
    await hr.locator("#invite").click()
    dialog = hr.locator("dialog")
    await dialog.get_by_label("First name").fill("Nora")
    await dialog.get_by_label("Last name").fill("Invited")
    await dialog.get_by_label("Email").fill(email)
    await dialog.get_by_label("Employee ID").fill(employee_id)
    await dialog.get_by_label("Department").select_option(label=org.department)
    await dialog.get_by_label("Notification language").select_option(label="Español")
    await dialog.get_by_role("button", name="Send invitation").click()
    await expect(dialog).to_have_count(0)
    row = hr.locator("tr", has_text=email)
    await expect(row).to_contain_text("Invitation sent")
    await screenshot(hr, "portal-employees")

    # CSV import: a bad row is reported per row and nothing is imported.
    await hr.get_by_role("button", name="Import CSV").click()
    csv = f"email,employee_id,first_name,last_name\nnot-an-email,{employee_id}X,Bad,Row\n"
    await (
        hr.locator("dialog")
        .get_by_label("CSV file")
        .set_input_files({"name": "people.csv", "mimeType": "text/csv", "buffer": csv.encode()})
    )
    await hr.locator("dialog").get_by_role("button", name="Import", exact=True).click()
    report = hr.locator("[data-testid=import-report]")
    await expect(report).to_contain_text("Nothing was imported")
    await expect(report.locator("tbody tr")).to_have_count(1)
    await expect(report.locator("tbody tr")).to_contain_text("email")
    await screenshot(hr, "portal-import-report")
    await hr.locator("dialog").get_by_role("button", name="Cancel").click()

    await deliver_mail(e2e_settings, e2e_db)
    [mail] = smtp.inbox.wait_for(email)
    assert mail["Subject"].endswith("te ha invitado a TAPWORK")  # the language HR chose
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    match = ACCEPT_URL.search(body.get_content())
    assert match, body.get_content()

    employee = await (await kiosks.context(browser)).new_page()
    await employee.goto(match.group(0))
    await expect(employee.locator("main h1")).to_have_text("Welcome to TAPWORK")
    # The page says whose account this is before a password is chosen for it.
    await expect(employee.locator("[data-testid=invite-holder]")).to_have_text(
        f"This invitation is for Nora Invited ({email})."
    )
    await employee.get_by_label("New password").fill("a long enough passphrase")
    await employee.get_by_label("Repeat the password").fill("a long enough passphrase")
    await employee.get_by_role("button", name="Activate my account").click()
    await employee.wait_for_url("**/portal/me/badge")
    qr = employee.locator("[data-testid=my-badge] img.qr")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 100")
    await expect(employee.locator("[data-testid=my-badge]")).to_contain_text(employee_id)
    # Self-service only: no staff pages in the employee's navigation.
    links = await employee.locator("#nav a").all_inner_texts()
    assert links == ["My badge", "My history", "My settings", "Face verification"]
    await screenshot(employee, "portal-my-badge")

    await nav_to(employee, "My history")
    await expect(employee.locator("[data-testid=totals]")).to_contain_text("Days present")
    await screenshot(employee, "portal-my-history")
    await nav_to(employee, "My settings")
    await screenshot(employee, "portal-my-settings")
    prefs = employee.locator("#preferences")
    await expect(prefs.get_by_label("Notification language")).to_have_value("es")
    await prefs.get_by_label("Notification language").select_option(label="English")
    await prefs.get_by_role("button", name="Save").click()
    await expect(employee.locator(".toast")).to_contain_text("Saved")

    async with e2e_db() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        assert user.password_hash is not None
        assert user.is_active
        assert user.language == "en"  # changed in self-service


async def test_hr_enrols_a_kiosk_that_the_scanner_app_pairs_with(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    # HR enrols (kiosks:enroll); revoking stays with administrators (kiosks:write).
    portal = await (await kiosks.context(browser)).new_page()
    await sign_in(portal, org.hr)
    await nav_to(portal, "Kiosks")
    name = f.unique("Lobby kiosk ")
    await portal.locator("#enrol-kiosk").click()
    await portal.locator("dialog").get_by_label("Name").fill(name)
    await portal.locator("dialog").get_by_label("Location").select_option(label=org.location)
    await portal.locator("dialog").get_by_role("button", name="Enrol kiosk").click()
    code = (await portal.locator("[data-testid=pairing-code]").inner_text()).strip()
    assert code
    await screenshot(portal, "portal-kiosk-pairing-code")
    await portal.locator("dialog").get_by_role("button", name="Done").click()
    await expect(portal.locator("tr", has_text=name)).to_contain_text("Waiting for pairing")

    scanner = await (await kiosks.context(browser)).new_page()
    await scanner.goto("/")
    await scanner.locator("#pairing-code").fill(code)
    await scanner.get_by_role("button", name="Pair kiosk").click()
    await scanner.wait_for_selector("[data-screen=ready]")
    await expect(scanner.locator("[data-screen=ready]")).to_contain_text(name)

    await portal.reload()
    row = portal.locator("tr", has_text=name)
    await expect(row).to_contain_text("Active")
    await expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    await screenshot(portal, "portal-kiosks")
    async with e2e_db() as session:
        kiosk = await session.scalar(select(Kiosk).where(Kiosk.name == name))
        assert kiosk is not None
        assert kiosk.token_hash is not None
        assert kiosk.paired_at is not None


async def test_a_supervisor_sees_only_their_department(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, api_server: str
) -> None:
    org = await make_org(e2e_db)
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.supervisor)
    links = await page.locator("#nav a").all_inner_texts()
    assert "Employees" in links
    assert "Dashboard" in links
    assert not {"Kiosks", "Review", "Audit log", "Roles and permissions"} & set(links)

    await nav_to(page, "Employees")
    table = page.locator("main table")
    await expect(table).to_contain_text(org.mine.full_name)
    await expect(table).not_to_contain_text(org.other.full_name)
    # Searching by name does not reveal the other department either.
    await page.get_by_label("Search").fill(org.other.first_name)
    await page.locator("form[role=search]").get_by_role("button", name="Apply filters").click()
    await expect(page.locator("main .empty")).to_be_visible()
    await screenshot(page, "portal-supervisor-employees")

    # A deep link to someone in another department shows no data.
    await page.goto(f"/portal/employees/{org.other.id}")
    await expect(page.locator("main [role=alert]")).to_be_visible()
    await expect(page.locator("main")).not_to_contain_text(org.other.email)

    # The API agrees, with the supervisor's own token from the portal.
    stored = json.loads(await page.evaluate("localStorage.getItem('tapwork.portal.session')"))
    headers = {"Authorization": f"Bearer {stored['access']}"}
    async with httpx.AsyncClient(base_url=api_server, headers=headers) as api:
        assert (await api.get(f"/api/v1/users/{org.other.id}")).status_code in (403, 404)
        assert (await api.get(f"/api/v1/users/{org.mine.id}")).status_code == 200
        listed = (await api.get("/api/v1/users", params={"limit": 200})).json()["items"]
        assert str(org.other.id) not in {u["id"] for u in listed}

    # An expired access token is refreshed once (rotated) and the page still loads.
    stored["access"] = "expired"
    await page.evaluate(
        "s => localStorage.setItem('tapwork.portal.session', JSON.stringify(s))", stored
    )
    await page.goto("/portal/employees")
    await expect(page.locator("main table")).to_contain_text(org.mine.full_name)
    rotated = json.loads(await page.evaluate("localStorage.getItem('tapwork.portal.session')"))
    assert rotated["access"] != "expired"
    assert rotated["refresh"] != stored["refresh"]


async def test_password_reset_by_mail_and_a_bad_verification_link(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, e2e_settings: Settings, smtp: SmtpServer
) -> None:
    org = await make_org(e2e_db)
    page = await (await kiosks.context(browser)).new_page()
    await page.goto("/portal/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.get_by_label("Email").fill(org.mine.email)
    await page.get_by_role("button", name="Send reset link").click()
    await expect(page.locator("main")).to_contain_text("a reset link is on its way")

    await deliver_mail(e2e_settings, e2e_db)
    [mail] = smtp.inbox.wait_for(org.mine.email)
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    link = re.search(
        r"https?://127\.0\.0\.1:\d+/portal/reset-password\?token=\S+", body.get_content()
    )
    assert link, body.get_content()
    await page.goto(link.group(0))
    await page.get_by_label("New password").fill("another long passphrase")
    await page.get_by_label("Repeat the password").fill("another long passphrase")
    await page.get_by_role("button", name="Set password").click()
    await page.wait_for_url("**/portal/login")
    await page.get_by_label("Email").fill(org.mine.email)
    await page.get_by_label("Password", exact=True).fill("another long passphrase")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/portal/me/badge")

    await page.goto("/portal/verify-email?token=not-a-real-token")
    await expect(page.locator("main [role=alert]")).to_contain_text("invalid or has expired")
    await screenshot(page, "portal-verify-email-invalid")
