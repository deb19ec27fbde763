"""Consent, enrolment, withdrawal, deletion, retention and policy through the API, checked in
the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.badge import service as badge_service
from tapwork.biometric import service as biometric_service
from tapwork.biometric.client import BiometricClient
from tapwork.biometric.jobs import purge_expired_templates
from tapwork.biometric.models import BiometricConsent, BiometricTemplate
from tapwork.biometric.notice import NOTICE_VERSION
from tapwork.config import Settings
from tapwork.kit.actor import SYSTEM
from tapwork.worker import jobs
from tests.biometric import images as im
from tests.support.clock import FrozenClock
from tests.support.personas import Org

pytestmark = pytest.mark.timeout(300)
ENROL = [im.b64(b) for b in im.enrolment_images()]


async def consent(client: httpx.AsyncClient, org: Org, who: str = "employee") -> dict[str, Any]:
    response = await client.post(
        "/api/v1/biometric/me/consent",
        json={"notice_version": NOTICE_VERSION},
        headers=org.headers(org.persona(who)),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def enrol(client: httpx.AsyncClient, org: Org) -> httpx.Response:
    return await client.post(
        "/api/v1/biometric/enroll",
        json={"user_id": str(org.employee.id), "images": ENROL},
        headers=org.headers(org.hr),
    )


async def _template_count(session: AsyncSession, org: Org) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(BiometricTemplate.user_id == org.employee.id)
        )
        or 0
    )


async def test_off_by_default(client: httpx.AsyncClient, org: Org) -> None:
    await consent(client, org)
    response = await enrol(client, org)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "BIOMETRICS_DISABLED"
    # The portal tells the employee it is not in use here.
    status = await client.get("/api/v1/biometric/me", headers=org.headers(org.employee))
    assert status.json()["enabled"] is False


async def test_consent_keeps_the_notice_text_its_version_the_time_and_who(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, clock: FrozenClock
) -> None:
    headers = org.headers(org.employee)
    notice = (await client.get("/api/v1/biometric/notice", headers=headers)).json()
    assert notice["version"] == NOTICE_VERSION
    assert "never stored" in notice["text"]
    assert str(notice["retention_days"]) in notice["text"]
    outdated = await client.post(
        "/api/v1/biometric/me/consent", json={"notice_version": "1999-01"}, headers=headers
    )
    assert outdated.status_code == 422
    assert outdated.json()["error"]["code"] == "BIOMETRIC_NOTICE_OUTDATED"
    await consent(client, org)
    again = await client.post(
        "/api/v1/biometric/me/consent", json={"notice_version": NOTICE_VERSION}, headers=headers
    )
    assert again.status_code == 409
    row = await session.scalar(
        select(BiometricConsent).where(BiometricConsent.user_id == org.employee.id)
    )
    assert row is not None
    assert row.notice_text == notice["text"]
    assert row.notice_version == NOTICE_VERSION
    assert row.given_at == clock()
    assert row.recorded_by_id == org.employee.id


async def test_enrolment_needs_consent_and_stores_only_an_encrypted_template(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, enabled: BiometricClient
) -> None:
    refused = await enrol(client, org)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "BIOMETRIC_CONSENT_REQUIRED"
    await consent(client, org)
    response = await enrol(client, org)
    assert response.status_code == 201, response.text
    assert response.json()["images_used"] == 3
    template = await session.get(BiometricTemplate, org.employee.id)
    assert template is not None
    assert template.enrolled_by_id == org.hr.id
    assert len(template.ciphertext) == 128 * 8 + 16
    again = await enrol(client, org)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "BIOMETRIC_ALREADY_ENROLLED"
    actions = (
        await session.scalars(
            select(AuditLog.action).where(AuditLog.resource_id == str(org.employee.id))
        )
    ).all()
    assert {"biometric.consent", "biometric.enroll"} <= set(actions)
    status = (await client.get("/api/v1/biometric/me", headers=org.headers(org.employee))).json()
    assert status["enrolled"] is True
    assert status["enabled"] is True
    assert status["consent"]["notice_version"] == NOTICE_VERSION


async def test_nothing_of_an_image_reaches_the_database(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, enabled: BiometricClient
) -> None:
    await consent(client, org)
    assert (await enrol(client, org)).status_code == 201
    # Every text and JSON column of every table, searched for a slice of each image.
    rows = (
        await session.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', "
                "'jsonb', 'json', 'bytea')"
            )
        )
    ).all()
    for table, column in rows:
        for image in ENROL:
            needle = image[200:240]
            found = await session.scalar(
                text(
                    f'SELECT count(*) FROM "{table}" '
                    f"WHERE encode(convert_to(\"{column}\"::text, 'UTF8'), 'escape') LIKE :n"
                ),
                {"n": f"%{needle}%"},
            )
            assert found == 0, f"{table}.{column} holds image data"


async def test_kiosk_enrols_the_consenting_badge_holder(
    client: httpx.AsyncClient,
    org: Org,
    session: AsyncSession,
    settings: Settings,
    kiosk_headers: dict[str, str],
    enabled: BiometricClient,
) -> None:
    badge = await badge_service.ensure_active(
        session, org.employee, now=org.clock(), settings=settings
    )
    body = {"code_data": badge.code_data, "images": ENROL}
    refused = await client.post("/api/v1/biometric/kiosk/enroll", json=body, headers=kiosk_headers)
    assert refused.status_code == 409  # no consent: no template, ever
    await consent(client, org)
    response = await client.post("/api/v1/biometric/kiosk/enroll", json=body, headers=kiosk_headers)
    assert response.status_code == 201, response.text
    template = await session.get(BiometricTemplate, org.employee.id)
    assert template is not None
    assert template.enrolled_by_label == "Front door"


async def test_withdrawal_deletes_the_template_at_once(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, enabled: BiometricClient
) -> None:
    await consent(client, org)
    assert (await enrol(client, org)).status_code == 201
    assert await _template_count(session, org) == 1
    response = await client.delete(
        "/api/v1/biometric/me/consent", headers=org.headers(org.employee)
    )
    assert response.status_code == 204
    assert await _template_count(session, org) == 0
    row = await session.scalar(
        select(BiometricConsent).where(BiometricConsent.user_id == org.employee.id)
    )
    assert row is not None
    assert row.withdrawn_at is not None
    again = await enrol(client, org)
    assert again.json()["error"]["code"] == "BIOMETRIC_CONSENT_REQUIRED"


async def test_withdrawal_works_while_the_service_is_off(
    client: httpx.AsyncClient,
    org: Org,
    session: AsyncSession,
    enabled: BiometricClient,
    settings: Settings,
) -> None:
    await consent(client, org)
    assert (await enrol(client, org)).status_code == 201
    settings.biometric_enabled = False
    response = await client.delete(
        "/api/v1/biometric/me/consent", headers=org.headers(org.employee)
    )
    assert response.status_code == 204
    assert await _template_count(session, org) == 0


async def test_deleting_the_user_deletes_template_and_consent(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, enabled: BiometricClient
) -> None:
    await consent(client, org)
    assert (await enrol(client, org)).status_code == 201
    response = await client.delete(
        f"/api/v1/users/{org.employee.id}", headers=org.headers(org.admin)
    )
    assert response.status_code == 204, response.text
    session.expunge_all()
    assert await _template_count(session, org) == 0
    consents = await session.scalar(
        select(func.count()).where(BiometricConsent.user_id == org.employee.id)
    )
    assert consents == 0


async def test_hr_deletes_a_template(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, enabled: BiometricClient
) -> None:
    await consent(client, org)
    assert (await enrol(client, org)).status_code == 201
    response = await client.delete(
        f"/api/v1/biometric/users/{org.employee.id}/template", headers=org.headers(org.hr)
    )
    assert response.status_code == 204
    assert await _template_count(session, org) == 0
    deletions = await session.scalar(
        select(func.count()).where(
            AuditLog.action == "biometric.delete", AuditLog.resource_id == str(org.employee.id)
        )
    )
    assert deletions == 1


async def test_retention_job_deletes_templates_unused_past_the_limit(
    client: httpx.AsyncClient,
    org: Org,
    session: AsyncSession,
    settings: Settings,
    sessionmaker: Any,
    enabled: BiometricClient,
) -> None:
    assert settings.biometric_retention_days < 3 * 365
    await consent(client, org)
    await consent(client, org, "outsider")
    for user in (org.employee, org.outsider):
        response = await client.post(
            "/api/v1/biometric/enroll",
            json={"user_id": str(user.id), "images": ENROL},
            headers=org.headers(org.hr),
        )
        assert response.status_code == 201
    stale = await session.get(BiometricTemplate, org.employee.id)
    assert stale is not None
    stale.last_used_at = org.clock() - timedelta(days=settings.biometric_retention_days + 1)
    await session.flush()
    jobs.install_runtime(
        jobs.Runtime(settings=settings, sessionmaker=sessionmaker, clock=org.clock)
    )
    try:
        deleted = await purge_expired_templates(int(org.clock().timestamp()))
    finally:
        jobs.install_runtime(None)
    assert deleted == 1
    session.expunge_all()
    assert await _template_count(session, org) == 0
    assert await session.get(BiometricTemplate, org.outsider.id) is not None
    assert (
        await biometric_service.purge_expired(
            session, now=org.clock(), retention_days=settings.biometric_retention_days, actor=SYSTEM
        )
        == 0
    )


async def test_admins_set_where_verification_is_required(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    headers = org.headers(org.admin)
    body = {"location_ids": [str(org.location.id)], "department_ids": [str(org.department.id)]}
    response = await client.put("/api/v1/biometric/policy", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert (await client.get("/api/v1/biometric/policy", headers=headers)).json() == body
    assert await biometric_service.required_for(
        session, location_id=None, department_id=org.department.id
    )
    assert not await biometric_service.required_for(
        session, location_id=None, department_id=org.other_department.id
    )
    unknown = await client.put(
        "/api/v1/biometric/policy",
        json={"location_ids": ["00000000-0000-0000-0000-000000000001"]},
        headers=headers,
    )
    assert unknown.status_code == 422
