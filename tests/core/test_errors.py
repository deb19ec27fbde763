from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI


async def test_unknown_route_is_404_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_wrong_method_is_405_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_unhandled_error_is_500_without_internals(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    response = await client.get("/boom")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "INTERNAL_ERROR"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert error["details"]["request_id"] == response.headers["x-request-id"]


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
    big = b"x" * (settings.max_body_bytes + 1)
    response = await client.post(
        "/api/v1/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    ("origin", "allowed"), [("http://localhost:3000", True), ("http://evil.example", False)]
)
async def test_cors_is_an_explicit_allow_list(
    client: httpx.AsyncClient, origin: str, allowed: bool
) -> None:
    response = await client.options(
        "/health", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
    )
    assert (response.headers.get("access-control-allow-origin") == origin) is allowed
