"""Prometheus metrics on their own port (`METRICS_PORT`), never on the public API port.

Several uvicorn worker processes each count in their own memory-mapped files
(prometheus-client's multiprocess mode) and one small HTTP server in the parent process sums
them when scraped, so the figures are the service's, not one worker's. The mode is chosen when
prometheus_client is first imported, so `use_multiprocess_dir` must run before anything imports
it: this module imports prometheus_client only inside its functions.
"""

from __future__ import annotations

import os
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Anything else (27,834 made-up methods once made as many series) is counted as "other".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def use_multiprocess_dir(directory: str | None = None) -> Path:
    """Make this process and the workers it starts count in `directory` (a fresh temporary one
    when not given), emptied first: files of a previous run would add stale counts."""
    if "prometheus_client" in sys.modules and not multiprocess_enabled():
        raise RuntimeError(
            "prometheus_client was imported before the multiprocess directory was set"
        )
    chosen = (
        directory or os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="tapwork-metrics-")
    )
    path = Path(chosen)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def serve(port: int, host: str = "0.0.0.0", *, collectors: tuple[Any, ...] = ()) -> Any:  # noqa: S104 - scraped from the pod network
    """Start the scrape endpoint (`/metrics`) in a daemon thread; returns the server."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = REGISTRY
    if multiprocess_enabled():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in collectors:
        registry.register(collector)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        # A second process on one host with the default port (two workers on a developer's
        # machine): it runs on without metrics, said loudly, instead of not running at all.
        import structlog

        structlog.get_logger("tapwork.metrics").error(
            "metrics_port_unavailable", port=port, error=str(exc)
        )
        return None
    return server


def process_exited(pid: int | None = None) -> None:
    """Drop a finished process's live gauges (its counters and histograms stay counted)."""
    if multiprocess_enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


@cache
def _pool_gauges() -> tuple[Any, Any]:
    # Made on first use, after the mode is settled (see the module's docstring).
    from prometheus_client import Gauge

    in_use = Gauge(
        "tapwork_db_pool_connections_in_use",
        "Database connections checked out of the pool",
        ["pool"],
        multiprocess_mode="livesum",
    )
    limit = Gauge(
        "tapwork_db_pool_connections_max",
        "Most connections the pool opens (size + overflow)",
        ["pool"],
        multiprocess_mode="livesum",
    )
    return in_use, limit


def instrument_pool(engine: Any, name: str) -> None:
    """Connections checked out of a SQLAlchemy pool, and the pool's limit, as gauges."""
    from sqlalchemy import event

    in_use_gauge, limit_gauge = _pool_gauges()
    pool = getattr(engine, "sync_engine", engine).pool
    in_use = in_use_gauge.labels(name)
    size = pool.size() if hasattr(pool, "size") else 0
    limit_gauge.labels(name).set(size + max(0, getattr(pool, "_max_overflow", 0)))
    event.listen(pool, "checkout", lambda *_: in_use.inc())
    event.listen(pool, "checkin", lambda *_: in_use.dec())
