"""What metrics and request logs cost on the scan path: the same scans against two API servers
on the same database in the same run, one with observability as deployed (prometheus-client in
multiprocess mode counting every request, one ECS JSON request line per request written to a
file) and one with both off (METRICS_PORT=0, LOG_REQUESTS=false), in interleaved rounds.

    uv run python bench/observability.py [--employees 2000 --kiosks 200 --concurrency 50 \
        --duration 10 --rounds 4 --workers 2]

Reuses bench/scan.py's seeding, wrk script and CPU meter. Prints each round and the medians:
scans/s and the API processes' CPU per scan (the steadier figure on a shared box).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scan import (
    BADGE_SECRET,
    DB_NAME,
    LUA,
    ROOT,
    THREADS,
    CpuMeter,
    free_port,
    run_wrk,
    seed,
)


def start(bench_url: str, port: int, workers: int, *, variant: str, logs: Path) -> Any:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DATABASE_URL": bench_url,
        "BADGE_SECRET": BADGE_SECRET,
        "TAPWORK_ENV": "development",
        "SCAN_DEBOUNCE_SECONDS": "0",
        "MIN_REST_MINUTES": "0",
        "RATE_LIMIT_SCAN_PER_BADGE_PER_MINUTE": "1000000000",
        "RATE_LIMIT_SCAN_PER_KIOSK_PER_MINUTE": "1000000000",
        "DATABASE_POOL_SIZE": "10",
        "LOG_JSON": "true",
        "LOG_LEVEL": "INFO",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if variant in ("metrics", "on"):
        env["METRICS_PORT"] = "9100"
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-metrics-")
    else:
        env["METRICS_PORT"] = "0"
    env["LOG_REQUESTS"] = "true" if variant == "on" else "false"
    out = logs.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tapwork.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning", "--loop", "uvloop", "--http", "httptools",
         "--timeout-worker-healthcheck", "60"],
        env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument("--history-days", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    pairs = seed(args.server_url, args.employees, args.kiosks, args.history_days)
    bench_url = args.server_url.rsplit("/", 1)[0] + f"/{DB_NAME}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        lua = LUA.replace("{THREADS}", str(THREADS))
        f.write(lua.replace("{PAIRS}", "{" + ",".join(f'{{"{t}","{c}"}}' for t, c in pairs) + "}"))
        script = f.name
    workdir = Path(tempfile.mkdtemp(prefix="bench-obs-"))
    servers: dict[str, tuple[Any, str]] = {}
    variants = ("off", "metrics", "on")
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    try:
        for name in variants:
            port = free_port()
            proc = start(bench_url, port, args.workers, variant=name,
                         logs=workdir / f"{name}.log")  # fmt: skip
            servers[name] = (proc, f"http://127.0.0.1:{port}")
            run_wrk(servers[name][1], 10, 3, script)  # warm up
        for n in range(args.rounds):
            # Alternate which goes first, so a drift in the box's load hits both alike.
            order = variants if n % 2 == 0 else variants[::-1]
            for name in order:
                proc, base = servers[name]
                meter = CpuMeter(proc.pid, bench_url)
                before = meter.snapshot()
                r = run_wrk(base, args.concurrency, args.duration, script)
                api_s, _db_s = meter.used(before)
                r["api_cpu_ms"] = api_s * 1000 / max(1, r["requests"])
                results[name].append(r)
                print(f"round {n + 1} {name:>3}: {r['rps']:.0f} scans/s p99 {r['p99_ms']:.1f} ms "
                      f"non-2xx {r['non_2xx']} API CPU {r['api_cpu_ms']:.3f} ms/scan",
                      file=sys.stderr)  # fmt: skip
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
        os.unlink(script)
    lines = sum(1 for _ in (workdir / "on.log").open())
    med = {k: statistics.median(r["rps"] for r in v) for k, v in results.items()}
    cpu = {k: statistics.median(r["api_cpu_ms"] for r in v) for k, v in results.items()}

    def ratios(name: str) -> list[float]:
        pairs = zip(results[name], results["off"], strict=True)
        return [one["rps"] / off["rps"] for one, off in pairs]

    print(f"\n{args.workers} uvicorn workers, c={args.concurrency}, {args.rounds} interleaved "
          f"rounds of {args.duration} s, load average {os.getloadavg()}\n")  # fmt: skip
    print("| variant | scans/s (median) | API CPU ms per scan (median) |")
    print("|---|---|---|")
    labels = {"off": "metrics and request lines off", "metrics": "metrics (multiprocess)",
              "on": "metrics + request lines"}  # fmt: skip
    for k in variants:
        print(f"| {labels[k]} | {med[k]:.0f} | {cpu[k]:.3f} |")
    for k in ("metrics", "on"):
        print(f"\n{labels[k]} / off, per round: {', '.join(f'{r:.1%}' for r in ratios(k))}; "
              f"median {statistics.median(ratios(k)):.1%}; "
              f"API CPU per scan {cpu[k] / cpu['off'] - 1:+.1%}")  # fmt: skip
    print(f"\n{lines} request lines written by the 'on' server")


if __name__ == "__main__":
    main()
