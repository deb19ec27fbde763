"""Input a hostile or careless client sends (issue 12): every one a clear 4xx in the envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.models import AttendanceRecord
from tapwork.config import Environment, Settings
from tapwork.kiosk.models import Kiosk
from tapwork.main import create_app
from tests.support.personas import Org

STRONG = "s" * 40


@pytest.mark.parametrize(
    "query",
    [
        "end_date=0001-01-01",
        "start_date=0001-01-01&end_date=0001-01-31",
        "end_date=9999-12-31",
        "end_date=0",  # pydantic alone reads a number as a Unix time: 1970-01-01
        "end_date=1700000000",
        "start_date=-1",
    ],
)
async def test_my_attendance_refuses_dates_out_of_bounds(
    client: httpx.AsyncClient, org: Org, query: str
) -> None:
    response = await client.get(f"/api/v1/attendance/me?{query}", headers=org.headers(org.employee))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_year_one_correction_is_refused_and_not_stored(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    response = await client.post(
        "/api/v1/attendance/corrections",
        headers=org.headers(org.hr),
        json={
            "user_id": str(org.employee.id),
            "check_in_at": "0001-01-01T08:00:00+00:00",
            "reason": "forgot to scan",
        },
    )
    assert response.status_code == 422, response.text
    fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
    assert fields == ["body.check_in_at"]
    stored = await session.scalar(
        select(func.count()).where(AttendanceRecord.user_id == org.employee.id)
    )
    assert stored == 0


async def test_record_edit_at_year_one_is_refused(
    client: httpx.AsyncClient, org: Org, clock: Any
) -> None:
    created = await client.post(
        "/api/v1/attendance/corrections",
        headers=org.headers(org.hr),
        json={
            "user_id": str(org.employee.id),
            "check_in_at": clock().isoformat(),
            "reason": "forgot to scan",
        },
    )
    assert created.status_code == 201, created.text
    response = await client.put(
        f"/api/v1/attendance/{created.json()['id']}",
        headers=org.headers(org.hr),
        json={"check_out_at": "0001-01-01T17:00:00Z", "reason": "fix the day"},
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", 0])
async def test_holiday_dates_are_bounded(client: httpx.AsyncClient, org: Org, day: object) -> None:
    response = await client.post(
        "/api/v1/holidays",
        headers=org.headers(org.admin),
        json={"holiday_date": day, "name": "Odd day"},
    )
    assert response.status_code == 422, response.text


async def test_scan_captured_at_year_one_is_422_on_the_fast_path(
    client: httpx.AsyncClient, kiosk: tuple[Kiosk, str]
) -> None:
    response = await client.post(
        "/api/v1/attendance",
        headers={"X-Kiosk-Token": kiosk[1]},
        json={
            "code_data": "whatever",
            "client_scan_id": "s-1",
            "captured_at": "0001-01-01T00:00:00+00:00",
        },
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["fields"][0]["field"] == "body.captured_at"


async def test_chunked_body_over_the_limit_is_413_on_json_routes(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    response = await client.post(
        "/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "application/json; charset=latin-1"},
    ],
)
async def test_body_without_a_json_content_type_is_415(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = b'{"email": "a@example.com", "password": "x"}'
    response = await client.post("/api/v1/auth/login", content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_json_with_utf8_charset_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"email": "nobody@example.com", "password": "wrong"}',
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json; charset=utf-16"])
async def test_scan_with_a_wrong_content_type_is_415(
    client: httpx.AsyncClient, kiosk: tuple[Kiosk, str], content_type: str | None
) -> None:
    headers = {"X-Kiosk-Token": kiosk[1]}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await client.post(
        "/api/v1/attendance",
        headers=headers,
        content=b'{"code_data": "whatever", "client_scan_id": "s-1"}',
    )
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/kiosks/pair"),
        ("DELETE", "/api/v1/kiosks/me"),
        ("GET", "/api/v1/users/import"),
        ("DELETE", "/api/v1/attendance/live"),
        ("PUT", "/api/v1/attendance/corrections"),
    ],
)
async def test_undeclared_method_on_a_literal_path_is_405(
    client: httpx.AsyncClient, org: Org, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=org.headers(org.admin), json={})
    assert response.status_code == 405, response.text
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("path", ["/health", "/api/v1/users/me", "/api/v1/no-such-thing"])
async def test_security_headers_on_every_answer(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # plain HTTP


async def test_hsts_when_served_over_tls(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://api.test") as c:
        response = await c.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def _production(settings: Settings, **extra: Any) -> Settings:
    secret = SecretStr(STRONG)
    update = {"environment": Environment.PRODUCTION, "jwt_secret": secret, "badge_secret": secret}
    return settings.model_copy(update={**update, **extra})


@pytest.mark.parametrize(("api_docs", "visible"), [(None, False), (True, True), (False, False)])
async def test_docs_in_production_follow_the_setting(
    settings: Settings, api_docs: bool | None, visible: bool
) -> None:
    app = create_app(_production(settings, api_docs=api_docs))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
        for path in ("/docs", "/redoc"):
            response = await c.get(path)
            assert (response.status_code == 200) is visible, path
        assert (await c.get("/openapi.json")).status_code == 200
