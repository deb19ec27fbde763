"""The Scanner App with a fake camera showing a badge and a face: it enrols the consenting
employee at the first scan, then verifies her face at the next one (real face service process,
real API, real PostgreSQL, Debian's Chromium)."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Playwright
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.badge import render
from tapwork.biometric import service as biometric_service
from tapwork.biometric.models import BiometricCheck, BiometricRequirement, BiometricTemplate
from tapwork.biometric.notice import NOTICE_VERSION
from tapwork.config import Settings
from tapwork.kit.actor import Actor
from tests.biometric import images as im
from tests.biometric.conftest import SECRET
from tests.biometric.processes import service_process
from tests.e2e import clips
from tests.e2e.conftest import Kiosks, MakeStaff, Staff, launch, screenshot

Db = async_sessionmaker[AsyncSession]
pytestmark = pytest.mark.timeout(240)


def face_and_badge_frame(code: str | None) -> Image.Image:
    """What the kiosk camera sees: the holder's face, and the badge held up beside it."""
    frame = Image.new("RGB", (640, 480), (120, 124, 130))
    if code is not None:
        qr = Image.open(io.BytesIO(render.qr_png(code, scale=5))).convert("RGB")
        qr = qr.resize((280, 280 * qr.height // qr.width), Image.Resampling.NEAREST)
        frame.paste(qr, (20, (480 - qr.height) // 2))
    face = im.astronaut().crop((110, 20, 340, 250)).resize((300, 300))
    frame.paste(face, (325, 90))
    return frame


@pytest.fixture
def face_service(e2e_settings: Settings) -> Iterator[None]:
    """Biometrics on for the running e2e API, against a real `tapwork biometric` process."""
    saved = e2e_settings.model_dump()
    with service_process() as url:
        e2e_settings.biometric_enabled = True
        e2e_settings.biometric_url = url
        e2e_settings.biometric_secret = SecretStr(SECRET)
        e2e_settings.biometric_timeout_seconds = 8.0  # a cold service loads its models first
        e2e_settings.scan_debounce_seconds = 0
        e2e_settings.min_rest_minutes = 0
        try:
            yield
        finally:
            for name in (
                "biometric_enabled",
                "biometric_url",
                "biometric_timeout_seconds",
                "scan_debounce_seconds",
                "min_rest_minutes",
            ):
                setattr(e2e_settings, name, saved[name])


async def _template(db: Db, staff: Staff) -> BiometricTemplate | None:
    async with db() as session:
        return await session.get(BiometricTemplate, staff.user.id)


async def test_the_kiosk_enrols_then_verifies_a_face(
    playwright: Playwright,
    kiosks: Kiosks,
    make_staff: MakeStaff,
    e2e_db: Db,
    face_service: None,
    tmp_path: Path,
) -> None:
    staff: Staff = await make_staff("Eileen")
    async with e2e_db() as session:
        session.add(BiometricRequirement(location_id=staff.kiosk.location_id))
        user = await session.get(type(staff.user), staff.user.id)
        assert user is not None
        actor = Actor(type="user", id=user.id, label=user.full_name)
        paired_at = staff.kiosk.paired_at
        assert paired_at is not None
        await biometric_service.give_consent(
            session,
            user,
            notice_version=NOTICE_VERSION,
            retention_days=365,
            actor=actor,
            now=paired_at,
        )
        await session.commit()
    # The badge is shown for 2 s, then lowered for 4 s (the kiosk scans a code again only after
    # it has left the view); the face stays in front of the camera throughout.
    shown = face_and_badge_frame(staff.code)
    lowered = face_and_badge_frame(None)
    clip = clips.write_y4m(tmp_path / "face.y4m", [shown] * 30 + [lowered] * 60, fps=15)
    browser = await launch(playwright, clip)
    try:
        context = await kiosks.context(browser)
        page = await kiosks.open_paired(context, staff)
        # A scan of the consenting, not yet enrolled holder: the kiosk enrols her face. The
        # predicates are functions: a bare expression is eval'd in the page, which its CSP forbids.
        await page.wait_for_function("() => window.__tapwork?.face === 'enrolled'", timeout=90_000)
        template = await _template(e2e_db, staff)
        assert template is not None
        assert template.enrolled_by_label == staff.kiosk.name
        # A later scan of the same badge sends a frame and the face is verified.
        await page.wait_for_function("() => window.__tapwork?.face === 'verified'", timeout=90_000)
        await screenshot(page, "kiosk_face_verified")
    finally:
        await browser.close()
    deadline = time.monotonic() + 10
    while True:
        async with e2e_db() as session:
            checks = list(
                await session.scalars(
                    select(BiometricCheck).where(BiometricCheck.user_id == staff.user.id)
                )
            )
        if checks or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert [c.outcome for c in checks][:1] == ["match"]
    assert checks[0].record_id is not None
