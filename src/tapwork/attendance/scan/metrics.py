"""The scan path's Prometheus metrics (served on METRICS_PORT, summed over the API's worker
processes: tapwork/kit/metrics.py). Every label has a bounded set of values."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SCANS = Counter(
    "tapwork_scans_total",
    "Scans answered, by result: the action taken (check_in, check_out, ...) or the error code",
    ["result"],
)
BATCH_SIZE = Histogram(
    "tapwork_scan_batch_size",
    "Scans per group-committed batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 500),
)
BATCH_SECONDS = Histogram(
    "tapwork_scan_batch_duration_seconds",
    "One batch: READ, decide, WRITE and COMMIT",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
_RESULTS: dict[str, object] = {}


def count_scan(result: str) -> None:
    child = _RESULTS.get(result)
    if child is None:
        child = _RESULTS[result] = SCANS.labels(result)
    child.inc()  # type: ignore[attr-defined]
