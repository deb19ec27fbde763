"""Every endpoint x every persona: allowed through the gate, or refused by it."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from tests.permissions.rules import ANONYMOUS, KIOSK, PUBLIC, all_rules
from tests.support.personas import PERSONAS, Org

_PARAM = re.compile(r"\{[^}]+\}")


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    # FastAPI >= 0.16x keeps included routers nested; iter_route_contexts flattens them.
    for route in iter_route_contexts(app.routes):
        # Rules name the documented path; the router matches ids with a `:uuid` convertor.
        path = re.sub(r":uuid}", "}", route.path or "")
        if isinstance(route.original_route, APIRoute) and path.startswith("/api/v1"):
            for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, path))
    return sorted(found)


def test_every_endpoint_has_a_rule(app: FastAPI) -> None:
    rules = all_rules()
    missing = [r for r in api_routes(app) if r not in rules]
    stale = [r for r in rules if r not in set(api_routes(app))]
    assert missing == [], f"endpoints without a permission rule: {missing}"
    assert stale == [], f"rules for endpoints that do not exist: {stale}"


def _headers_for(persona: str, org: Org, kiosk_headers: dict[str, str]) -> dict[str, str]:
    if persona == ANONYMOUS:
        return {}
    if persona == KIOSK:
        return kiosk_headers
    return org.headers(org.persona(persona))


async def test_permission_matrix(
    app: FastAPI, client: httpx.AsyncClient, org: Org, kiosk_headers: dict[str, str]
) -> None:
    app.state.settings.rate_limit_auth_per_minute = 1_000_000
    app.state.settings.rate_limit_general_per_minute = 1_000_000
    rules = all_rules()
    failures = []
    for method, path in api_routes(app):
        allowed = rules.get((method, path))
        if allowed is None:
            continue  # reported by test_every_endpoint_has_a_rule
        url = _PARAM.sub(lambda _: str(uuid.uuid4()), path)
        for persona in (ANONYMOUS, *PERSONAS, KIOSK):
            headers = _headers_for(persona, org, kiosk_headers)
            if path.endswith("/users/import"):  # a CSV body (JSON there is a 415)
                csv = {**headers, "Content-Type": "text/csv"}
                response = await client.request(method, url, headers=csv, content=b"email\n")
            else:
                body: dict[str, object] | None = {} if method in {"POST", "PUT", "PATCH"} else None
                response = await client.request(method, url, headers=headers, json=body)
            refused = response.status_code in (401, 403)
            expected_refused = persona not in allowed and allowed != PUBLIC
            if refused != expected_refused:
                failures.append(
                    f"{method} {path} as {persona}: {response.status_code} "
                    f"(expected {'refusal' if expected_refused else 'through the gate'})"
                )
            if expected_refused and persona == ANONYMOUS and response.status_code != 401:
                failures.append(f"{method} {path} anonymous: {response.status_code}, expected 401")
            assert response.status_code < 500, f"{method} {path} as {persona}: {response.text}"
    assert failures == [], "\n".join(failures)
