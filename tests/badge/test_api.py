"""Badge endpoints: every format decodes back to the code, HR manages, employees self-serve."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.badge.models import Badge
from tests.support import factories as f
from tests.support.personas import Org


def decode(png: bytes) -> list[tuple[str, str]]:
    image = Image.open(io.BytesIO(png))
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)]


async def _json(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(url, params={"format": "json"}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_my_badge_png_decodes_to_code_data(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.employee)
    data = await _json(client, "/api/v1/badges/me", headers)
    assert data["code_data"].startswith("TW1:")
    assert data["user_id"] == str(org.employee.id)
    assert data["expires_at"] is None
    png = await client.get("/api/v1/badges/me", headers=headers)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.headers["cache-control"] == "no-store"
    assert decode(png.content) == [("QRCode", data["code_data"])]


async def test_code128_png_decodes_to_code_data(client: httpx.AsyncClient, org: Org) -> None:
    headers = org.headers(org.employee)
    data = await _json(client, "/api/v1/badges/me", headers)
    png = await client.get("/api/v1/badges/me", params={"format": "code128.png"}, headers=headers)
    assert png.status_code == 200
    assert decode(png.content) == [("Code128", data["code_data"])]


@pytest.mark.parametrize("fmt", ["svg", "code128.svg"])
async def test_svg_formats_are_xml_with_the_symbol(
    client: httpx.AsyncClient, org: Org, fmt: str
) -> None:
    headers = org.headers(org.employee)
    response = await client.get("/api/v1/badges/me", params={"format": fmt}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    if fmt == "svg":
        paths = root.findall(".//{http://www.w3.org/2000/svg}path")
        assert len(paths) == 1
        assert len(paths[0].attrib["d"]) > 200  # the QR modules
    else:
        bars = root.findall(".//{http://www.w3.org/2000/svg}rect")
        assert len(bars) > 100  # background + one rect per bar


async def test_badge_is_stable_until_regenerated(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    headers = org.headers(org.employee)
    first = await _json(client, "/api/v1/badges/me", headers)
    assert (await _json(client, "/api/v1/badges/me", headers))["code_data"] == first["code_data"]
    regenerated = await client.post("/api/v1/badges/me/regenerate", headers=headers)
    assert regenerated.status_code == 200
    assert regenerated.json()["code_data"] != first["code_data"]
    assert (await _json(client, "/api/v1/badges/me", headers))["id"] == regenerated.json()["id"]
    old = await session.get(Badge, uuid.UUID(first["id"]))
    assert old is not None
    await session.refresh(old)
    assert old.revoke_reason == "superseded"


async def test_unknown_format_is_422(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(
        "/api/v1/badges/me", params={"format": "gif"}, headers=org.headers(org.employee)
    )
    assert response.status_code == 422


async def test_hr_views_regenerates_and_revokes(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    hr = org.headers(org.hr)
    url = f"/api/v1/users/{org.employee.id}/badge"
    mine = await _json(client, "/api/v1/badges/me", org.headers(org.employee))
    seen = await _json(client, url, hr)
    assert seen["code_data"] == mine["code_data"]
    png = await client.get(url, headers=hr)
    assert decode(png.content) == [("QRCode", mine["code_data"])]
    assert org.employee.employee_id in png.headers["content-disposition"]

    expires = (org.clock() + timedelta(days=90)).isoformat()
    regenerated = await client.post(f"{url}/regenerate", json={"expires_at": expires}, headers=hr)
    assert regenerated.status_code == 200, regenerated.text
    assert regenerated.json()["expires_at"].startswith(expires[:19])

    revoked = await client.post(f"{url}/revoke", headers=hr)
    assert revoked.status_code == 200
    assert revoked.json()["id"] == regenerated.json()["id"]
    again = await client.post(f"{url}/revoke", headers=hr)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "BADGE_NOT_FOUND"

    actions = list(
        await session.scalars(
            select(AuditLog.action)
            .where(AuditLog.actor_id == org.hr.id)
            .order_by(AuditLog.created_at, AuditLog.action)
        )
    )
    assert sorted(actions) == ["badge.regenerate", "badge.revoke"]


async def test_regenerate_with_past_expiry_is_422(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        f"/api/v1/users/{org.employee.id}/badge/regenerate",
        json={"expires_at": (org.clock() - timedelta(minutes=1)).isoformat()},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 422


async def test_unknown_user_is_404(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(f"/api/v1/users/{uuid.uuid4()}/badge", headers=org.headers(org.hr))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "USER_NOT_FOUND"


async def test_employee_cannot_see_anothers_badge(client: httpx.AsyncClient, org: Org) -> None:
    for who in (org.employee, org.supervisor):
        response = await client.get(
            f"/api/v1/users/{org.outsider.id}/badge", headers=org.headers(who)
        )
        assert response.status_code == 403


def _outline_titles(pdf: bytes) -> list[str]:
    return [m.decode("latin-1") for m in re.findall(rb"/Title \((E\d+[^)]*)\)", pdf)]


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


async def test_sheet_for_department_has_one_card_per_active_member(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    extra = [
        await f.make_user(session, department=org.department, first_name=f"Member{i}")
        for i in range(10)
    ]
    await f.make_user(session, department=org.department, active=False, first_name="Gone")
    response = await client.get(
        "/api/v1/badges/sheet.pdf",
        params={"department_id": str(org.department.id)},
        headers=org.headers(org.hr),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    members = [org.employee, org.supervisor, *extra]
    titles = _outline_titles(pdf)
    assert sorted(t.split()[0] for t in titles) == sorted(u.employee_id for u in members)
    assert _page_count(pdf) == 2  # 12 cards, ten a page
    # Badges were issued for everyone printed.
    issued = set(await session.scalars(select(Badge.user_id).where(Badge.revoked_at.is_(None))))
    assert {u.id for u in members} <= issued


async def test_sheet_for_listed_users(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(
        "/api/v1/badges/sheet.pdf",
        params=[("user_id", str(org.employee.id)), ("user_id", str(org.outsider.id))],
        headers=org.headers(org.admin),
    )
    assert response.status_code == 200
    titles = _outline_titles(response.content)
    assert sorted(t.split()[0] for t in titles) == sorted(
        [org.employee.employee_id, org.outsider.employee_id]
    )
    assert _page_count(response.content) == 1


async def test_sheet_needs_a_selection(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/api/v1/badges/sheet.pdf", headers=org.headers(org.hr))
    assert response.status_code == 422
