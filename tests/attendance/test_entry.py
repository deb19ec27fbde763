"""The pure-ASGI scan handler answers exactly as the FastAPI route does, and hands everything
it does not fully validate to that route."""

from __future__ import annotations

import re
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.scan import entry
from tapwork.attendance.scan.group_commit import LANE_APPLICATION
from tapwork.config import Settings
from tests.attendance.conftest import Scanner, badge_code
from tests.attendance.test_concurrency import build_world, live_client  # noqa: F401
from tests.support.clock import FrozenClock
from tests.support.personas import Org

URL = "/api/v1/attendance"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Client scan ids the fast path took itself (the rest went to the FastAPI route)."""
    seen: list[str] = []
    original = entry.parse

    def parse(scope: Any, body: bytes) -> Any:
        req = original(scope, body)
        if req is not None:
            seen.append(req.client_scan_id)
        return req

    monkeypatch.setattr(entry, "parse", parse)
    return seen


def _shape(response: httpx.Response) -> tuple[int, list[str], str]:
    """Status, header names and body with ids masked: what must not differ between paths."""
    names = sorted(k for k in response.headers if k not in {"x-request-id", "content-length"})
    return response.status_code, names, _UUID.sub("<id>", response.text)


async def _script(scanner: Scanner, code: str, clock: FrozenClock, p: str) -> list[Any]:
    out = []
    out.append(_shape(await scanner.scan(code, scan_id=p + "one")))  # check-in
    out.append(_shape(await scanner.scan(code, scan_id=p + "one")))  # replay
    out.append(_shape(await scanner.scan(code + "X", scan_id=p + "one")))  # SCAN_ID_REUSED
    out.append(_shape(await scanner.scan(code, scan_id=p + "two")))  # DUPLICATE_SCAN (debounce)
    out.append(_shape(await scanner.scan("TW1:NOPE:FORGED", scan_id=p + "three")))  # 400
    clock.advance(hours=8)
    out.append(_shape(await scanner.scan(code, scan_id=p + "four")))  # check-out
    out.append(_shape(await scanner.scan(code, scan_id=p + "five")))  # DUPLICATE_SCAN
    out.append(_shape(await scanner.scan(code, scan_id=p + "six")))  # DUPLICATE_SCAN
    out.append(_shape(await scanner.scan(code, scan_id=p + "seven")))  # 429: 4th in this minute
    return out


async def test_fast_path_answers_like_the_fastapi_route(
    client: httpx.AsyncClient, kiosk_headers: dict[str, str], org: Org, session: AsyncSession,
    clock: FrozenClock, taken: list[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    org.settings.rate_limit_scan_per_kiosk_per_minute = 3
    scanner = Scanner(client, kiosk_headers)
    fast = await _script(scanner, await badge_code(session, org.employee, org.settings, clock()),
                         clock, "f-")  # fmt: skip
    assert [t[2:] for t in taken] == [
        "one",
        "one",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
    ]
    assert [status for status, _, _ in fast] == [200, 200, 422, 409, 400, 200, 409, 409, 429]

    clock.advance(hours=16)  # the same time next day: a fresh rate-limit window
    monkeypatch.setattr(entry, "parse", lambda scope, body: None)  # always the FastAPI route
    code = await badge_code(session, org.supervisor, org.settings, clock())
    slow = await _script(scanner, code, clock, "s-")
    assert len(taken) == 9
    mask = {org.employee.first_name: "<f>", org.supervisor.first_name: "<f>",
            org.employee.last_name: "<l>", org.supervisor.last_name: "<l>"}  # fmt: skip

    def names(shapes: list[Any]) -> list[Any]:
        text = repr(shapes)
        for name, placeholder in mask.items():
            text = text.replace(name, placeholder)
        return [re.sub(r"\d{4}-\d\d-\d\d([T ][\d:.+]+)?", "<t>", text)]

    for a, b in zip(names(fast)[0].split("), ("), names(slow)[0].split("), ("), strict=True):
        assert a == b
    assert "x-ratelimit-remaining" in fast[0][1]
    assert "retry-after" in fast[-1][1]


async def test_scan_headers(scanner: Scanner, org: Org, session: AsyncSession,
                            clock: FrozenClock, taken: list[str]) -> None:  # fmt: skip
    code = await badge_code(session, org.employee, org.settings, clock())
    response = await scanner.client.post(
        URL, json={"code_data": code, "client_scan_id": "h-1"},
        headers={**scanner.headers, "X-Request-ID": "req-42"},
    )  # fmt: skip
    assert taken == ["h-1"]
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["x-ratelimit-remaining"]) >= 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code_data": "x" * 129, "client_scan_id": "a"}, "body.code_data"),
        ({"code_data": "ok", "client_scan_id": "a" * 65}, "body.client_scan_id"),
        ({"code_data": "", "client_scan_id": "a"}, "body.code_data"),
        ({"code_data": "a\x00b", "client_scan_id": "a"}, "body.code_data"),
        ({"code_data": 12, "client_scan_id": "a"}, "body.code_data"),
        ({"client_scan_id": "a"}, "body.code_data"),
        ({"code_data": "ok", "client_scan_id": "a", "extra": 1}, "body.extra"),
        ({"code_data": "ok", "client_scan_id": "a", "captured_at": "2026-03-02T08:00:00"},
         "body.captured_at"),
        ({"code_data": "ok", "client_scan_id": "a", "captured_at": "yesterday"},
         "body.captured_at"),
    ],
)  # fmt: skip
async def test_invalid_bodies_get_the_validation_envelope(
    scanner: Scanner, taken: list[str], body: dict[str, Any], field: str
) -> None:
    response = await scanner.client.post(URL, json=body, headers=scanner.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in [f["field"] for f in error["details"]["fields"]]
    assert taken == []


async def test_order_of_checks_is_the_routes(client: httpx.AsyncClient, taken: list[str]) -> None:
    # Malformed JSON is judged before the token (FastAPI parses the body first) ...
    bad = await client.post(URL, content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["type"] == "json_invalid"
    # ... a valid body without a token (or with an oversized one) is a 401.
    body = {"code_data": "ok", "client_scan_id": "a"}
    for headers in ({}, {"X-Kiosk-Token": "t" * 201}):
        refused = await client.post(URL, json=body, headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "KIOSK_UNAUTHORIZED"
    unknown = await client.post(URL, json=body, headers={"X-Kiosk-Token": "unknown-token"})
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"] == 'KioskToken header="X-Kiosk-Token"'
    assert taken == ["a"]  # only the last one was the fast path's to answer


async def test_offline_capture_time_forms(
    scanner: Scanner, org: Org, session: AsyncSession, clock: FrozenClock, taken: list[str]
) -> None:
    code = await badge_code(session, org.employee, org.settings, clock())
    stamp = clock().strftime("%Y-%m-%dT%H:%M:%S")
    first = await scanner.client.post(
        URL, json={"code_data": code, "client_scan_id": "z", "captured_at": f"{stamp}Z"},
        headers=scanner.headers,
    )  # fmt: skip
    assert first.status_code == 200, first.text
    assert first.json()["source"] == "offline"
    # A form the fast path does not parse itself still works, through the route.
    clock.advance(hours=8)
    stamp = clock().strftime("%Y-%m-%d %H:%M:%S")
    second = await scanner.client.post(
        URL, json={"code_data": code, "client_scan_id": "y", "captured_at": f"{stamp}+00:00"},
        headers=scanner.headers,
    )  # fmt: skip
    assert second.status_code == 200, second.text
    assert second.json()["action"] == "check_out"
    assert taken == ["z"]


async def test_other_methods_and_paths_are_the_routers(
    client: httpx.AsyncClient, org: Org, taken: list[str]
) -> None:
    listed = await client.get(URL, headers=org.headers(org.hr))
    assert listed.status_code == 200
    slash = await client.post(URL + "/", json={})
    assert slash.status_code != 200
    assert taken == []


async def test_a_dead_pooled_connection_costs_no_scan(
    live_client: tuple[httpx.AsyncClient, FrozenClock],  # noqa: F811 - the imported fixture
    committed_db: async_sessionmaker[AsyncSession],
    settings: Settings,
    database_url: str,
    taken: list[str],
) -> None:
    """No pool pre-ping: the scan lane's connection killed while idle (a database restart) is
    found dead by the next batch, which runs again on a fresh one."""
    client, _ = live_client
    world = await build_world(committed_db, settings, kiosks=1, users=2)
    headers = {"X-Kiosk-Token": world.tokens[0]}
    first = {"code_data": world.codes[0], "client_scan_id": "before"}
    assert (await client.post(URL, json=first, headers=headers)).status_code == 200
    libpq = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    async with await psycopg.AsyncConnection.connect(libpq, autocommit=True) as admin:
        killed = await (
            await admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND state = 'idle' "
                "AND application_name = %s",
                (LANE_APPLICATION,),
            )
        ).fetchone()
    assert killed is not None
    assert killed[0] >= 1
    after = {"code_data": world.codes[1], "client_scan_id": "after"}
    response = await client.post(URL, json=after, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "check_in"
    assert taken == ["before", "after"]


async def test_behind_a_path_prefix(app, kiosk_headers: dict[str, str], org: Org,  # type: ignore[no-untyped-def]
                                    session: AsyncSession, clock: FrozenClock,
                                    taken: list[str]) -> None:  # fmt: skip
    code = await badge_code(session, org.employee, org.settings, clock())
    transport = httpx.ASGITransport(app=app, root_path="/tw", raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/tw" + URL, json={"code_data": code, "client_scan_id": "rp"}, headers=kiosk_headers
        )
    assert response.status_code == 200, response.text
    assert taken == ["rp"]
