"""The OpenAPI document declares the error answers operations really give (issue 12)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.support.personas import Org

ERROR_REF = "#/components/schemas/Error"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/v1")
    ]


def test_every_api_operation_declares_its_errors_in_the_envelope(app: FastAPI) -> None:
    document = app.openapi()
    missing = []
    for path, method, op in _operations(document):
        wanted = {"422", "429", "503"}
        if "requestBody" in op:
            wanted |= {"413", "415"}
        if op.get("security"):
            wanted |= {"401", "403"}
        if "{" in path:
            wanted.add("404")
        absent = wanted - set(op["responses"])
        if absent:
            missing.append(f"{method.upper()} {path}: {sorted(absent)}")
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")) and "content" in response:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, f"{method} {path} {status}"
    assert missing == []
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_the_error_schema_matches_real_answers(
    app: FastAPI, client: httpx.AsyncClient, org: Org
) -> None:
    schema = app.openapi()["components"]["schemas"]["Error"]
    answers = [
        await client.get("/api/v1/users"),  # 401
        await client.get("/api/v1/users", headers=org.headers(org.employee)),  # 403
        await client.post("/api/v1/auth/login", content=b"{}"),  # 415
        await client.post("/api/v1/auth/login", json={"email": 1}),  # 422
    ]
    assert [a.status_code for a in answers] == [401, 403, 415, 422]
    for answer in answers:
        body = answer.json()
        assert set(body) == set(schema["required"])
        inner = schema["properties"]["error"]
        assert set(body["error"]) == set(inner["required"])
        assert isinstance(body["error"]["details"], dict)
