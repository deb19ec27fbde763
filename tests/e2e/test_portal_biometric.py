"""Face verification in the portal, in Debian's Chromium against the real API and PostgreSQL:
an employee consents and withdraws in self-service (the template is deleted at once), an admin
sets where verification is required, HR clears a flagged check on the Review page."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.biometric.codec import Keyring
from tapwork.biometric.models import (
    BiometricCheck,
    BiometricConsent,
    BiometricRequirement,
    BiometricTemplate,
)
from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.kit.clock import utcnow
from tapwork.location.models import Location
from tapwork.user.models import User
from tests.e2e.conftest import Kiosks, screenshot
from tests.e2e.test_portal import make_org, nav_to, sign_in

Db = async_sessionmaker[AsyncSession]


@pytest.fixture
def biometrics_on(e2e_settings: Settings) -> Iterator[None]:
    """The switch only: consent, withdrawal, policy and review never call the face service."""
    e2e_settings.biometric_enabled = True
    yield
    e2e_settings.biometric_enabled = False


async def _enrol_directly(db: Db, user: User) -> None:
    """What a kiosk enrolment leaves behind: a sealed template under the user's consent."""
    async with db() as session:
        consent = await session.scalar(
            select(BiometricConsent).where(
                BiometricConsent.user_id == user.id, BiometricConsent.withdrawn_at.is_(None)
            )
        )
        assert consent is not None, "the portal recorded no consent"
        sealed = Keyring("e2e-key-0123456789abcdef0123456789abcdef").seal(
            [random.uniform(-0.2, 0.2) for _ in range(128)], user_id=user.id
        )
        session.add(
            BiometricTemplate(
                user_id=user.id,
                consent_id=consent.id,
                key_id=sealed.key_id,
                nonce=sealed.nonce,
                ciphertext=sealed.ciphertext,
                images_used=3,
                enrolled_at=utcnow(),
                enrolled_by_id=None,
                enrolled_by_label="kiosk:Door",
                last_used_at=utcnow(),
            )
        )
        await session.commit()


async def test_an_employee_consents_and_withdrawing_deletes_the_template(
    browser: Browser, kiosks: Kiosks, e2e_db: Db, biometrics_on: None
) -> None:
    org = await make_org(e2e_db)
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.mine)
    await nav_to(page, "Face verification")
    status = page.locator("[data-testid=face-status]")
    await expect(status).to_contain_text("Not given")
    await expect(page.locator("[data-testid=face-notice]")).to_contain_text("withdraw")
    await page.get_by_role("button", name="I have read the notice and consent").click()
    await expect(status).to_contain_text("Given")

    await _enrol_directly(e2e_db, org.mine)
    await page.reload()
    await expect(status).to_contain_text("Stored since")
    await screenshot(page, "portal-my-face")
    await page.get_by_role("button", name="Withdraw consent").click()
    await page.locator("dialog").get_by_role("button", name="Withdraw consent").click()
    await expect(status).to_contain_text("None stored")
    await expect(status).to_contain_text("Not given")
    async with e2e_db() as session:
        assert await session.get(BiometricTemplate, org.mine.id) is None  # deleted at once
        consent = await session.scalar(
            select(BiometricConsent).where(BiometricConsent.user_id == org.mine.id)
        )
        assert consent is not None
        assert consent.withdrawn_at is not None  # the evidence stays, marked withdrawn

    await page.locator("#language").select_option("es")
    await expect(page.locator("main h1")).to_have_text("Verificación facial")
    await expect(status).to_contain_text("No dado")


async def test_an_admin_sets_where_verification_is_required(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    async with e2e_db() as session:
        location_id = await session.scalar(select(Location.id).where(Location.name == org.location))
        department_id = await session.scalar(
            select(Department.id).where(Department.name == org.other_department)
        )
        # The e2e database is shared by the suite: start from "required nowhere".
        await session.execute(delete(BiometricRequirement))
        await session.commit()
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.admin)
    try:
        await nav_to(page, "Face verification policy")
        form = page.locator("[data-testid=face-policy]")
        await form.get_by_label(org.location).check()
        await form.get_by_label(org.other_department).check()
        await form.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Saved")
        async with e2e_db() as session:
            rows = (await session.scalars(select(BiometricRequirement))).all()
            assert {(r.location_id, r.department_id) for r in rows} == {
                (location_id, None),
                (None, department_id),
            }
        await page.reload()
        await expect(form.get_by_label(org.location)).to_be_checked()
        await expect(form.get_by_label(org.department)).not_to_be_checked()
        await screenshot(page, "portal-face-policy")
        # An employee (no settings:write) neither sees the page nor may use it.
        employee = await (await kiosks.context(browser)).new_page()
        await sign_in(employee, org.mine)
        await expect(
            employee.locator("#nav").get_by_role("link", name="Face verification policy")
        ).to_have_count(0)
    finally:
        async with e2e_db() as session:
            await session.execute(delete(BiometricRequirement))
            await session.commit()


async def test_hr_clears_a_flagged_face_check_on_the_review_page(
    browser: Browser, kiosks: Kiosks, e2e_db: Db
) -> None:
    org = await make_org(e2e_db)
    async with e2e_db() as session:
        check = BiometricCheck(
            user_id=org.mine.id,
            client_scan_id=f"e2e-{org.mine.id}",
            outcome="mismatch",
            distance=0.71,
            threshold=0.5,
            checked_at=utcnow(),
            review_status="pending",
        )
        session.add(check)
        await session.commit()
    page = await (await kiosks.context(browser)).new_page()
    await sign_in(page, org.hr)
    await nav_to(page, "Review")
    row = page.locator("[data-testid=face-checks] tbody tr", has_text=org.mine.full_name)
    await expect(row).to_contain_text("Did not match")
    await screenshot(page, "portal-review-face")
    await row.get_by_role("button", name="Mark reviewed").click()
    await expect(row).to_have_count(0)
    async with e2e_db() as session:
        resolved = await session.get(BiometricCheck, check.id)
        assert resolved is not None
        assert resolved.review_status == "resolved"
