"""Every JSON endpoint refuses NUL bytes and over-long strings with a 4xx, never a 500.

Built from the OpenAPI document, so an endpoint added without bounded input types fails here.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from tests.support.personas import Org

_PARAM = re.compile(r"\{[^}]+\}")


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return _resolve(spec["components"]["schemas"][name], spec)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            resolved = _resolve(option, spec)
            if resolved.get("type") == "object" or "properties" in resolved:
                return resolved
    return schema


def _string_fields(schema: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    def is_string(prop: dict[str, Any]) -> bool:
        prop = prop if "$ref" not in prop else _resolve(prop, spec)
        if prop.get("type") == "string" and prop.get("format") not in ("uuid", "date", "date-time"):
            return "enum" not in prop
        return any(is_string(o) for o in prop.get("anyOf", []))

    return [name for name, prop in schema.get("properties", {}).items() if is_string(prop)]


def _json_operations(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    spec = app.openapi()
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = _resolve(content["application/json"]["schema"], spec)
            fields = _string_fields(schema, spec)
            if fields:
                found.append((method.upper(), path, fields))
    return found


async def test_there_are_json_endpoints_with_strings_to_check(app: FastAPI) -> None:
    assert len(_json_operations(app)) >= 20


async def test_nul_bytes_and_overlong_strings_are_refused_cleanly(
    app: FastAPI, client: httpx.AsyncClient, org: Org, kiosk_headers: dict[str, str]
) -> None:
    app.state.settings.rate_limit_auth_per_minute = 1_000_000
    headers = {**org.headers(org.admin), **kiosk_headers}
    failures = []
    for method, path, fields in _json_operations(app):
        url = _PARAM.sub(lambda _: str(uuid.uuid4()), path)
        for bad in ("nul\x00byte", "x" * 5000):
            body = dict.fromkeys(fields, bad)
            response = await client.request(method, url, json=body, headers=headers)
            if response.status_code >= 500 or response.status_code < 400:
                failures.append(f"{method} {path} with {bad[:8]!r}…: {response.status_code}")
                continue
            error = response.json()["error"]
            if response.status_code != 422 or error["code"] != "VALIDATION_ERROR":
                failures.append(f"{method} {path}: {response.status_code} {error['code']}")
                continue
            # Every bad field is named, so none of them slips through behind another's error.
            named = {f["field"].rsplit(".", 1)[-1] for f in error["details"]["fields"]}
            if missed := set(fields) - named:
                failures.append(f"{method} {path} with {bad[:8]!r}…: not refused {sorted(missed)}")
    assert failures == [], "\n".join(failures)


def _object_bodies(app: FastAPI) -> list[tuple[str, str]]:
    spec = app.openapi()
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = _resolve(content["application/json"]["schema"], spec)
                if schema.get("type") == "object" or "properties" in schema:
                    found.append((method.upper(), path))
    return found


async def test_an_unknown_field_is_a_422_naming_it_on_every_endpoint(
    app: FastAPI, client: httpx.AsyncClient, org: Org, kiosk_headers: dict[str, str]
) -> None:
    """A misspelt field (`grace_period_minutes` for `grace_minutes`) must not be dropped
    silently: the record would be created with the default and nobody would notice."""
    app.state.settings.rate_limit_auth_per_minute = 1_000_000
    headers = {**org.headers(org.admin), **kiosk_headers}
    operations = _object_bodies(app)
    assert len(operations) >= 25
    failures = []
    for method, path in operations:
        url = _PARAM.sub(lambda _: str(uuid.uuid4()), path)
        response = await client.request(
            method, url, json={"surely_not_a_field": 1}, headers=headers
        )
        body = response.json() if response.content else {}
        error = body.get("error", {})
        named = [f["field"] for f in error.get("details", {}).get("fields", [])]
        if response.status_code != 422 or "body.surely_not_a_field" not in named:
            failures.append(f"{method} {path}: {response.status_code} {named}")
    assert failures == [], "\n".join(failures)


async def test_a_shift_with_a_misspelt_grace_is_refused_not_defaulted(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = {"name": "Typo", "start_time": "09:00", "end_time": "17:00", "grace_period_minutes": 15}
    response = await client.post("/api/v1/shifts", json=body, headers=org.headers(org.admin))
    assert response.status_code == 422
    fields = response.json()["error"]["details"]["fields"]
    assert [f["field"] for f in fields] == ["body.grace_period_minutes"]
    assert fields[0]["type"] == "extra_forbidden"
