"""What the general limit (100 requests a minute per user or kiosk, counted in PostgreSQL) costs:
two API servers on the same database in the same run, one with it off
(RATE_LIMIT_GENERAL_PER_MINUTE=0) and one counting every request (the limit lifted to 10^9, so
nothing is refused and every request pays the count), in interleaved rounds, on the scan (exempt
by design: decision 0008), `/health` (outside /api/v1) and a limited kiosk route
(`GET /api/v1/kiosks/me`, where the cost lands).

    uv run python bench/general_limit.py [--employees 1000 --kiosks 100 --concurrency 20 \
        --duration 8 --rounds 3 --workers 2]

Reuses bench/scan.py's seeding, wrk script and CPU meter; needs `wrk`. Prints each round and a
Markdown table of medians: requests/s and API + database CPU per request.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scan as scan_bench
from observability import start as start_observed
from scan import LUA, THREADS, CpuMeter, free_port, run_wrk, seed

# A database of its own: the other scan benches recreate `tapwork_bench` when they start.
DB_NAME = scan_bench.DB_NAME = "tapwork_bench_limit"

VARIANTS = {"off": "0", "on": "1000000000"}
TARGETS = ("scan", "health", "kiosk_me")


def start(bench_url: str, port: int, workers: int, *, limit: str, logs: Path) -> Any:
    # observability.start's environment (metrics and request lines off), plus the limit.
    os.environ["RATE_LIMIT_GENERAL_PER_MINUTE"] = limit
    try:
        return start_observed(bench_url, port, workers, variant="off", logs=logs)
    finally:
        del os.environ["RATE_LIMIT_GENERAL_PER_MINUTE"]


def _scripts(pairs: list[tuple[str, str]]) -> dict[str, str | None]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        lua = LUA.replace("{THREADS}", str(THREADS))
        f.write(lua.replace("{PAIRS}", "{" + ",".join(f'{{"{t}","{c}"}}' for t, c in pairs) + "}"))
        scan = f.name
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(f'wrk.headers["X-Kiosk-Token"] = "{pairs[0][0]}"\n')
        kiosk = f.name
    return {"scan": scan, "health": None, "kiosk_me": kiosk}


def _url(base: str, target: str) -> str:
    return {"scan": base, "health": f"{base}/health", "kiosk_me": f"{base}/api/v1/kiosks/me"}[
        target
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--kiosks", type=int, default=100)
    parser.add_argument("--history-days", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    pairs = seed(args.server_url, args.employees, args.kiosks, args.history_days)
    bench_url = args.server_url.rsplit("/", 1)[0] + f"/{DB_NAME}"
    scripts = _scripts(pairs)
    workdir = Path(tempfile.mkdtemp(prefix="bench-limit-"))
    servers: dict[str, tuple[Any, str]] = {}
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    load = [os.getloadavg()[0]]
    try:
        for name, limit in VARIANTS.items():
            port = free_port()
            proc = start(bench_url, port, args.workers, limit=limit, logs=workdir / name)
            servers[name] = (proc, f"http://127.0.0.1:{port}")
            run_wrk(servers[name][1], 10, 3, scripts["scan"])  # warm up
        for n in range(args.rounds):
            order = list(VARIANTS) if n % 2 == 0 else list(VARIANTS)[::-1]
            for name in order:
                proc, base = servers[name]
                for target in TARGETS:
                    meter = CpuMeter(proc.pid, bench_url)
                    before = meter.snapshot()
                    r = run_wrk(
                        _url(base, target), args.concurrency, args.duration, scripts[target]
                    )
                    api_s, db_s = meter.used(before)
                    meter.conn.close()
                    r["api_cpu_ms"] = api_s * 1000 / max(1, r["requests"])
                    r["db_cpu_ms"] = db_s * 1000 / max(1, r["requests"])
                    results.setdefault((name, target), []).append(r)
                    print(f"round {n + 1} {name:>3} {target:>8}: {r['rps']:.0f} req/s "
                          f"non-2xx {r['non_2xx']} CPU API {r['api_cpu_ms']:.3f} "
                          f"+ DB {r['db_cpu_ms']:.3f} ms", file=sys.stderr)  # fmt: skip
            load.append(os.getloadavg()[0])
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
        for script in scripts.values():
            if script:
                os.unlink(script)

    def med(name: str, target: str, key: str) -> float:
        return statistics.median(r[key] for r in results[(name, target)])

    span = f"{min(load):.1f}-{max(load):.1f}"
    print(f"\n{args.workers} uvicorn workers, c={args.concurrency}, {args.rounds} interleaved "
          f"rounds of {args.duration} s; load average (1 min) {span}\n")  # fmt: skip
    print(
        "| target | off: req/s | on: req/s | on/off | off: CPU API + DB ms | on: CPU API + DB ms |"
    )
    print("|---|---|---|---|---|---|")
    for t in TARGETS:
        off, on = med("off", t, "rps"), med("on", t, "rps")
        print(f"| {t} | {off:.0f} | {on:.0f} | {on / off:.1%} | "
              f"{med('off', t, 'api_cpu_ms'):.3f} + {med('off', t, 'db_cpu_ms'):.3f} | "
              f"{med('on', t, 'api_cpu_ms'):.3f} + {med('on', t, 'db_cpu_ms'):.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
