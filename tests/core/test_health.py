from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def test_health_answers_without_touching_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_schema_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_not_ready_when_schema_behind(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    await session.flush()
    response = await client.get("/ready")
    assert response.status_code == 503
    body = response.json()["error"]
    assert body["code"] == "NOT_READY"
    assert body["details"]["schema_revision"] == "0001"


async def test_ready_when_a_newer_release_migrated_the_schema(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # A rolling update: the migrate Job of release N+1 ran, the pods of release N still serve.
    await session.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed0001'"))
    await session.flush()
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["schema_revision"] == "f00dfeed0001"


async def test_metrics_are_not_served_on_the_api_port(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_made_up_methods_share_one_metrics_label(client: httpx.AsyncClient) -> None:
    from prometheus_client import REGISTRY, generate_latest

    for i in range(50):
        await client.request(f"X-ODD-{i}", "/health")
    text = generate_latest(REGISTRY).decode()
    assert "X-ODD-" not in text
    assert 'tapwork_http_requests_total{method="other",route="/health",status="405"}' in text


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert len((await client.get("/health")).headers["x-request-id"]) == 32


async def test_not_ready_when_database_unreachable(settings) -> None:  # type: ignore[no-untyped-def]
    from tapwork.devstack.embedded_pg import free_port
    from tapwork.main import create_app

    settings.database_url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/ready")
            assert (await client.get("/health")).status_code == 200
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "NOT_READY"
    assert error["details"] == {"database": "unreachable"}
