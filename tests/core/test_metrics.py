"""Prometheus metrics of `tapwork api --workers 2`, scraped on METRICS_PORT: both workers'
counts add up, labels are route templates and a bounded set of methods, and the API port
serves no metrics."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tapwork.config import Settings
from tapwork.devstack.embedded_pg import free_port

TAPWORK = str(Path(sys.executable).with_name("tapwork"))
ODD_METHODS = ("PROPFIND", "MKCOL", "PURGE", "SEARCH", "REPORT", "LOCK", "UNLOCK", "TRACE")
HEALTH = 'tapwork_http_requests_total{method="GET",route="/health",status="200"}'


def _wait_for(url: str, deadline: float) -> None:
    while True:
        try:
            if httpx.get(url, timeout=1).status_code in (200, 404):
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer"
        time.sleep(0.2)


@pytest.fixture
def two_workers(
    database_url: str, settings: Settings, tmp_path: Path
) -> Iterator[tuple[str, str, Path]]:
    api_port, metrics_port = free_port(), free_port()
    multiproc = tmp_path / "metrics"
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": database_url,
        "METRICS_PORT": str(metrics_port),
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL_SIZE": "2",
    }
    proc = subprocess.Popen(
        [TAPWORK, "api", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "2"],
        env=env,
    )
    api, metrics = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{metrics_port}"
    try:
        deadline = time.monotonic() + 180  # two uvicorn workers on a loaded 2-core box
        _wait_for(f"{api}/health", deadline)
        _wait_for(f"{metrics}/metrics", deadline)
        yield api, metrics, multiproc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _per_process_health_counts(multiproc: Path) -> dict[str, float]:
    counts: dict[str, float] = {}
    for path in multiproc.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):  # type: ignore[no-untyped-call]
            for sample in metric.samples:
                labels = sample.labels
                if (
                    sample.name == "tapwork_http_requests_total"
                    and labels.get("route") == "/health"
                    and labels.get("status") == "200"
                ):
                    counts[path.name] = counts.get(path.name, 0) + sample.value
    return counts


async def _hit(api: str, n: int) -> None:
    # A new connection per request, many at once: the kernel spreads them over both workers.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=api, limits=limits, timeout=30) as client:

        async def one() -> None:
            assert (await client.get("/health")).status_code == 200

        for start in range(0, n, 20):
            await asyncio.gather(*(one() for _ in range(min(20, n - start))))


async def _scrape(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(url)).text


async def test_two_workers_counts_add_up_on_the_metrics_port(
    two_workers: tuple[str, str, Path],
) -> None:
    api, metrics, multiproc = two_workers
    sent = 0
    for _ in range(20):
        await _hit(api, 40)
        sent += 40
        if len([c for c in _per_process_health_counts(multiproc).values() if c]) >= 2:
            break
    per_process = _per_process_health_counts(multiproc)
    assert len([c for c in per_process.values() if c]) == 2, per_process

    scraped = await _scrape(f"{metrics}/metrics")
    # The readiness probes of the fixture were /health too: count what the files say they are.
    assert _value(scraped, HEALTH) == sum(per_process.values())
    assert _value(scraped, HEALTH) >= sent
    assert max(per_process.values()) < _value(scraped, HEALTH)

    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{api}/metrics")).status_code == 404


async def test_labels_are_route_templates_and_known_methods(
    two_workers: tuple[str, str, Path],
) -> None:
    api, metrics, _ = two_workers
    async with httpx.AsyncClient(base_url=api) as client:
        for i in range(30):
            # Methods uvicorn's parser lets through (it refuses made-up ones itself).
            await client.request(ODD_METHODS[i % len(ODD_METHODS)], "/health")
            await client.get(f"/api/v1/users/{i:08d}-0000-4000-8000-000000000000")
            await client.get(f"/no/such/path/{i}")
    scraped = await _scrape(f"{metrics}/metrics")
    methods = set(re.findall(r'tapwork_http_requests_total\{method="([^"]+)"', scraped))
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert (
        _value(scraped, 'tapwork_http_requests_total{method="other",route="/health",status="405"}')
        == 30
    )
    routes = set(re.findall(r'tapwork_http_requests_total\{[^}]*route="([^"]+)"', scraped))
    assert "/api/v1/users/{user_id}" in routes
    assert "unmatched" in routes
    assert not any("0000-4000" in r or "/no/such" in r for r in routes)
    assert "tapwork_db_pool_connections_max" in scraped
