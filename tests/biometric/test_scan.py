"""The face step of a kiosk scan: match, mismatch and retry, the service down or hanging (the
scan proceeds, flagged, one alert), the badge-only path, offline scans, biometrics off."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import LogCapture

from tapwork.badge import service as badge_service
from tapwork.biometric import scan as biometric_scan
from tapwork.biometric.client import BiometricClient
from tapwork.biometric.models import BiometricCheck, BiometricRequirement
from tapwork.biometric.notice import NOTICE_VERSION
from tapwork.config import Settings
from tapwork.notification.models import Incident, OutboxEmail
from tests.biometric import images as im
from tests.biometric.processes import closed_port_url, hanging_service
from tests.support.clock import FrozenClock
from tests.support.personas import Org

pytestmark = pytest.mark.timeout(300)
_ids = itertools.count(1)
HER = im.b64(im.astronaut_variants()["lighter"])
STRANGER = im.b64(im.other_people()[3])


class Kiosk:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], code: str):
        self.client, self.headers, self.code = client, headers, code

    async def scan(self, face: str | None = HER, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"code_data": self.code, "client_scan_id": f"b-{next(_ids)}"}
        body.update(face_image=face, **extra)
        response = await self.client.post("/api/v1/attendance", json=body, headers=self.headers)
        assert response.status_code in (200, 202), response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
async def kiosk(
    client: httpx.AsyncClient,
    kiosk_headers: dict[str, str],
    session: AsyncSession,
    org: Org,
    settings: Settings,
) -> Kiosk:
    """The employee's badge at a kiosk of a location that requires face verification."""
    badge = await badge_service.ensure_active(
        session, org.employee, now=org.clock(), settings=settings
    )
    session.add(BiometricRequirement(location_id=org.location.id))
    await session.flush()
    return Kiosk(client, kiosk_headers, badge.code_data)


async def _consent(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        "/api/v1/biometric/me/consent",
        json={"notice_version": NOTICE_VERSION},
        headers=org.headers(org.employee),
    )
    assert response.status_code == 201


@pytest.fixture
async def enrolled(client: httpx.AsyncClient, org: Org, enabled: BiometricClient) -> None:
    await _consent(client, org)
    response = await client.post(
        "/api/v1/biometric/enroll",
        json={
            "user_id": str(org.employee.id),
            "images": [im.b64(b) for b in im.enrolment_images()],
        },
        headers=org.headers(org.hr),
    )
    assert response.status_code == 201, response.text


async def _checks(session: AsyncSession) -> list[BiometricCheck]:
    session.expire_all()
    return list(await session.scalars(select(BiometricCheck).order_by(BiometricCheck.checked_at)))


async def _alerts(session: AsyncSession) -> int:
    return int(
        await session.scalar(select(func.count()).where(OutboxEmail.kind == "admin_alert")) or 0
    )


async def _incidents(session: AsyncSession) -> list[tuple[str, bool]]:
    """(key, open) of every incident, oldest first."""
    rows = await session.execute(
        select(Incident.key, Incident.closed_at.is_(None)).order_by(Incident.opened_at)
    )
    return [(key, bool(is_open)) for key, is_open in rows.all()]


@pytest.fixture
def later(clock: FrozenClock):  # type: ignore[no-untyped-def]
    def advance() -> None:
        clock.advance(minutes=90)

    return advance


async def test_a_matching_face_lets_the_scan_through_unflagged(
    kiosk: Kiosk, enrolled: None, session: AsyncSession
) -> None:
    answer = await kiosk.scan(HER)
    assert answer["action"] == "check_in"
    assert answer["biometric"]["outcome"] == "match"
    assert answer["biometric"]["retry"] is False
    [check] = await _checks(session)
    assert check.outcome == "match"
    assert check.review_status is None
    assert str(check.record_id) == answer["record_id"]


async def test_a_mismatch_is_flagged_and_a_matching_retry_clears_it(
    kiosk: Kiosk, enrolled: None, session: AsyncSession, client: httpx.AsyncClient, org: Org
) -> None:
    answer = await kiosk.scan(STRANGER)
    assert answer["action"] == "check_in"  # never a silent rejection: the scan counts
    assert answer["biometric"]["outcome"] == "mismatch"
    assert answer["biometric"]["retry"] is True
    queue = await client.get(
        "/api/v1/biometric/checks", params={"review_status": "pending"}, headers=org.headers(org.hr)
    )
    assert [c["id"] for c in queue.json()["items"]] == [answer["biometric"]["check_id"]]
    assert queue.json()["items"][0]["employee_name"] == org.employee.full_name  # for the portal
    retry = await client.post(
        "/api/v1/biometric/kiosk/verify",
        json={"check_id": answer["biometric"]["check_id"], "code_data": kiosk.code, "image": HER},
        headers=kiosk.headers,
    )
    assert retry.status_code == 200, retry.text
    assert retry.json()["outcome"] == "match"
    assert retry.json()["review_status"] == "resolved"
    assert retry.json()["attempts"] == 2


async def test_a_retry_that_fails_again_stays_for_hr(
    kiosk: Kiosk, enrolled: None, client: httpx.AsyncClient, org: Org
) -> None:
    answer = await kiosk.scan(STRANGER)
    retry = await client.post(
        "/api/v1/biometric/kiosk/verify",
        json={
            "check_id": answer["biometric"]["check_id"],
            "code_data": kiosk.code,
            "image": STRANGER,
        },
        headers=kiosk.headers,
    )
    assert retry.json()["review_status"] == "pending"
    resolved = await client.post(
        f"/api/v1/biometric/checks/{answer['biometric']['check_id']}/resolve",
        headers=org.headers(org.hr),
    )
    assert resolved.json()["review_status"] == "resolved"


async def test_a_retried_scan_files_one_check_and_answers_the_same(
    kiosk: Kiosk, enrolled: None, session: AsyncSession
) -> None:
    first = await kiosk.scan(STRANGER, client_scan_id="retried-1")
    again = await kiosk.scan(STRANGER, client_scan_id="retried-1")
    assert again == first  # the kiosk's retry gets the first answer, check id included
    [check] = await _checks(session)
    assert str(check.id) == first["biometric"]["check_id"]
    assert check.client_scan_id == "retried-1"


async def test_the_database_refuses_a_second_check_for_one_scan(
    kiosk: Kiosk, enrolled: None, session: AsyncSession, org: Org
) -> None:
    await kiosk.scan(STRANGER, client_scan_id="once")
    [check] = await _checks(session)
    with pytest.raises(IntegrityError, match="uq_biometric_checks_kiosk_id_client_scan_id"):
        async with session.begin_nested():
            session.add(
                BiometricCheck(
                    user_id=check.user_id,
                    kiosk_id=check.kiosk_id,
                    client_scan_id="once",
                    outcome="match",
                    checked_at=org.clock(),
                )
            )


@pytest.fixture
async def outage(
    app: FastAPI, settings: Settings, enabled: BiometricClient
) -> AsyncIterator[dict[str, BiometricClient]]:
    """Switch the API between the working face service and a dead one."""
    settings.biometric_url = closed_port_url()
    dead = BiometricClient(settings)
    yield {"up": enabled, "down": dead}
    await dead.aclose()


async def test_service_down_the_scans_proceed_flagged_and_admins_hear_once(
    kiosk: Kiosk,
    enrolled: None,
    outage: dict[str, BiometricClient],
    app: FastAPI,
    session: AsyncSession,
    later: Any,
) -> None:
    app.state.biometric_client = outage["down"]
    first = await kiosk.scan(HER)
    later()
    second = await kiosk.scan(HER)
    assert (first["action"], second["action"]) == ("check_in", "check_out")
    assert first["biometric"]["outcome"] == second["biometric"]["outcome"] == "unavailable"
    assert [c.review_status for c in await _checks(session)] == ["pending", "pending"]
    assert await _alerts(session) == 1  # one admin, one alert for the whole outage
    assert await _incidents(session) == [("biometric.down", True)]  # the general mechanism
    # Back up: a good verify ends the incident; the next outage alerts again.
    app.state.biometric_client = outage["up"]
    later()
    assert (await kiosk.scan(HER))["biometric"]["outcome"] == "match"
    assert await _incidents(session) == [("biometric.down", False)]
    app.state.biometric_client = outage["down"]
    later()
    await kiosk.scan(HER)
    assert await _alerts(session) == 2
    assert await _incidents(session) == [("biometric.down", False), ("biometric.down", True)]


async def test_a_hanging_service_costs_a_scan_only_the_timeout(
    kiosk: Kiosk, enrolled: None, app: FastAPI, settings: Settings, session: AsyncSession
) -> None:
    with hanging_service() as url:
        settings.biometric_url = url
        settings.biometric_timeout_seconds = 0.5
        hung = BiometricClient(settings)
        app.state.biometric_client = hung
        try:
            answer = await kiosk.scan(HER)
        finally:
            await hung.aclose()
    assert answer["action"] == "check_in"
    assert answer["biometric"]["outcome"] == "unavailable"
    assert await _alerts(session) == 1


async def test_without_consent_the_badge_alone_works(
    kiosk: Kiosk,
    enabled: BiometricClient,
    session: AsyncSession,
    client: httpx.AsyncClient,
    org: Org,
    later: Any,
) -> None:
    answer = await kiosk.scan(STRANGER)
    assert answer["action"] == "check_in"
    assert answer["biometric"] == {
        "outcome": None,
        "check_id": None,
        "retry": False,
        "enroll_available": False,
    }
    await _consent(client, org)
    later()
    answer = await kiosk.scan(HER)
    assert answer["action"] == "check_out"
    assert answer["biometric"]["enroll_available"] is True  # consented, not enrolled yet
    assert await _checks(session) == []


async def test_no_step_where_it_is_not_required(
    kiosk: Kiosk, enrolled: None, session: AsyncSession
) -> None:
    await session.execute(delete(BiometricRequirement))
    answer = await kiosk.scan(STRANGER)
    assert answer["action"] == "check_in"
    assert answer.get("biometric") is None
    assert await _checks(session) == []


async def test_offline_scans_carry_no_biometric_step(
    kiosk: Kiosk, enrolled: None, session: AsyncSession, clock: FrozenClock
) -> None:
    captured = (clock() - timedelta(minutes=10)).isoformat()
    answer = await kiosk.scan(STRANGER, captured_at=captured)
    assert answer["action"] == "check_in"
    assert answer.get("biometric") is None
    assert await _checks(session) == []


async def test_with_biometrics_off_the_frame_is_ignored(
    kiosk: Kiosk, session: AsyncSession
) -> None:
    answer = await kiosk.scan(STRANGER)
    assert answer["action"] == "check_in"
    assert answer.get("biometric") is None


async def test_nothing_of_the_frame_reaches_the_api_logs(
    kiosk: Kiosk,
    enrolled: None,
    app: FastAPI,
    later: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    capture = LogCapture()
    monkeypatch.setattr(
        biometric_scan,
        "log",
        structlog.wrap_logger(None, processors=[capture], wrapper_class=structlog.BoundLogger),
    )
    await kiosk.scan(STRANGER)
    later()
    app.state.biometric_client = BiometricClient(
        app.state.settings.model_copy(update={"biometric_url": closed_port_url()})
    )
    await kiosk.scan(STRANGER)
    assert any(entry["event"] == "biometric_unavailable" for entry in capture.entries)
    printed = capfd.readouterr()
    assert STRANGER[100:140] not in repr(capture.entries) + printed.out + printed.err
