"""Scan endpoint benchmark: seeds a bench database, runs the API under uvicorn and drives
POST /api/v1/attendance and GET /health with wrk at several concurrencies.

    uv run python bench/scan.py                    # defaults: 5000 employees, 500 kiosks
    uv run python bench/scan.py --concurrency 50 --duration 10 --rounds 3

Needs `wrk` (Debian package) and a PostgreSQL server (BENCH_SERVER_URL, default
postgresql://postgres@127.0.0.1:5432/postgres); the database `tapwork_bench` is recreated.
Prints a Markdown table (and --json writes the raw figures).

Each wrk connection cycles through badges and kiosks with fresh client scan ids, so every
request is a real scan. Debounce and rest period are 0 and rate limits are lifted for the run,
so a badge alternates check-in / check-out instead of being refused; every request therefore
runs the full read-decide-write transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tapwork.badge import codec  # noqa: E402
from tapwork.kit.security import hash_token, new_token  # noqa: E402
from tapwork.migration.revisions import upgrade  # noqa: E402
from tapwork.permissions import SYSTEM_ROLES  # noqa: E402

BADGE_SECRET = "bench-badge-secret-0123456789abcdef0123"
DB_NAME = "tapwork_bench"

LUA = r"""
local pairs_ = {PAIRS}
local threads = {THREADS}
local counter = 0
-- `tid` is the global thread:set() gives each thread: a `local tid` here would shadow it, so
-- every thread would be 0, seed alike and send the same scan ids (concurrent retries).
tid = 0
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end
function init(args)
  math.randomseed(os.time() + tid * 7919)
  counter = math.random(0, #pairs_ - 1)
end
function request()
  -- Each thread scans only its own badges (index = tid mod threads), so two threads never
  -- race on one badge (a second scan of a badge in flight is a DUPLICATE_SCAN, not a scan).
  counter = counter + 1
  local p = pairs_[((counter * threads + tid) % #pairs_) + 1]
  local body = '{"code_data":"' .. p[2] .. '","client_scan_id":"b' .. tid .. '-' .. counter ..
    '-' .. math.random(1, 1000000000) .. '"}'
  return wrk.format("POST", "/api/v1/attendance",
    {["Content-Type"] = "application/json", ["X-Kiosk-Token"] = p[1]}, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HISTORY = (
    """
INSERT INTO attendance_records (id, user_id, shift_id, location_id, kiosk_id, work_date,
    check_in_at, check_out_at, status, minutes_late, worked_minutes, overtime_minutes,
    early_leave_minutes, source, created_at, updated_at)
SELECT gen_random_uuid(), u.id, u.shift_id, u.location_id, k.id, d::date,
       d + interval '8 hours', d + interval '16 hours', 'on_time', 0, 480, 0, 0, 'online',
       d + interval '8 hours', d + interval '16 hours'
FROM users u
CROSS JOIN generate_series(current_date - %(days)s, current_date - 1, interval '1 day') d
CROSS JOIN LATERAL (SELECT id FROM kiosks ORDER BY id LIMIT 1) k
""",
    """
INSERT INTO scan_events (id, kiosk_id, client_scan_id, payload_hash, code_data, user_id,
    badge_id, record_id, result, received_at, response)
SELECT gen_random_uuid(), r.kiosk_id, 'history-' || r.id || '-' || e.result, md5(r.id::text),
       b.code_data, r.user_id, b.id, r.id, e.result, e.at, '{"http_status": 200, "body": {}}'
FROM attendance_records r
JOIN badges b ON b.user_id = r.user_id
CROSS JOIN LATERAL (VALUES ('check_in', r.check_in_at), ('check_out', r.check_out_at)) e(result, at)
""",
)


def seed(url: str, employees: int, kiosks: int, days: int) -> list[tuple[str, str]]:
    """Recreate the bench database at head and seed it; returns (kiosk token, code) pairs."""
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    bench_url = f"{server}/{DB_NAME}"
    upgrade(bench_url.replace("postgresql://", "postgresql+psycopg://", 1))
    ring = codec.keyring_for(BADGE_SECRET)
    with psycopg.connect(bench_url) as conn:
        role_id = uuid.uuid4()
        conn.execute(
            "INSERT INTO roles (id, name, permissions, is_system) "
            "VALUES (%s, 'employee', %s, true)",
            (role_id, sorted(SYSTEM_ROLES["employee"][1])),
        )
        location_id, shift_id, department_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        conn.execute(
            "INSERT INTO locations (id, name, timezone) VALUES (%s, 'Bench', 'Europe/Madrid')",
            (location_id,),
        )
        conn.execute(
            "INSERT INTO shifts (id, name, start_time, end_time, working_days) "
            "VALUES (%s, 'Day', '09:00', '17:00', '{1,2,3,4,5,6,7}')",
            (shift_id,),
        )
        conn.execute("INSERT INTO departments (id, name) VALUES (%s, 'Bench')", (department_id,))
        conn.execute("INSERT INTO badge_keys (kid, is_active) VALUES ('BNCH', true)")
        codes = []
        with conn.cursor() as cur:
            users = []
            badges = []
            for n in range(employees):
                user_id, badge_id = uuid.uuid4(), uuid.uuid4()
                code = codec.encode(badge_id, "BNCH", ring)
                codes.append(code)
                users.append(
                    (user_id, f"bench{n}@example.com", f"B{n:06d}", "Bench", f"User{n}",
                     role_id, department_id, shift_id, location_id)
                )  # fmt: skip
                badges.append((badge_id, user_id, "BNCH", code))
            cur.executemany(
                "INSERT INTO users (id, email, employee_id, first_name, last_name, role_id, "
                "department_id, shift_id, location_id, email_verified_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())",
                users,
            )
            cur.executemany(
                "INSERT INTO badges (id, user_id, kid, code_data) VALUES (%s, %s, %s, %s)", badges
            )
            tokens = []
            for n in range(kiosks):
                token = new_token()
                tokens.append(token)
                cur.execute(
                    "INSERT INTO kiosks (id, name, location_id, token_hash, paired_at) "
                    "VALUES (%s, %s, %s, %s, now())",
                    (uuid.uuid4(), f"Kiosk {n}", location_id, hash_token(token)),
                )
        # A month of closed records and their scan events, as a live deployment has: table
        # sizes, index depth and planner statistics like production's, not an empty table.
        for statement in HISTORY:
            conn.execute(statement, {"days": days})
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        # Flush the seed's dirty pages now: a checkpoint falling in a measured window would
        # write them (and full-page images of everything the scans touch) meanwhile.
        conn.execute("CHECKPOINT")
        if os.environ.get("BENCH_ASYNC_COMMIT"):
            conn.execute(f'ALTER DATABASE "{DB_NAME}" SET synchronous_commit = off')
    return [(tokens[i % kiosks], code) for i, code in enumerate(codes)]


def start_api(bench_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        # The tree being measured, not whichever one the venv's editable install points at.
        "PYTHONPATH": str(ROOT / "src"),
        "DATABASE_URL": bench_url,
        "BADGE_SECRET": BADGE_SECRET,
        "TAPWORK_ENV": "development",
        "SCAN_DEBOUNCE_SECONDS": "0",
        "MIN_REST_MINUTES": "0",
        "RATE_LIMIT_SCAN_PER_BADGE_PER_MINUTE": "1000000000",
        "RATE_LIMIT_SCAN_PER_KIOSK_PER_MINUTE": "1000000000",
        "LOG_LEVEL": "WARNING",
        # pool + equal overflow per worker: 2 x 2 x 20 = 80 connections at most (max 100).
        "DATABASE_POOL_SIZE": os.environ.get("BENCH_POOL_SIZE", "20"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tapwork.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    # On the shared 2-core box under other suites' load, start-up took more than 30 s.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API did not start")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


class CpuMeter:
    """CPU seconds used by the API processes and by the bench database's backends: a cost per
    request that the other load on a shared box does not distort (wall-clock figures it does)."""

    def __init__(self, api_pid: int, bench_url: str) -> None:
        self.api_pids = [api_pid, *_children(api_pid)]
        # Opened up front: at c=200 the API's pools may hold every free connection slot.
        self.conn = psycopg.connect(bench_url, autocommit=True)
        self.hz = os.sysconf("SC_CLK_TCK")

    def _db_pids(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (DB_NAME,),
        ).fetchall()
        return [r[0] for r in rows]

    def snapshot(self) -> dict[int, int]:
        return {pid: _ticks(pid) for pid in [*self.api_pids, *self._db_pids()]}

    def used(self, before: dict[int, int]) -> tuple[float, float]:
        after = self.snapshot()
        api = sum(after.get(p, 0) - before.get(p, 0) for p in self.api_pids)
        db = sum(t - before.get(p, 0) for p, t in after.items() if p not in self.api_pids)
        return api / self.hz, db / self.hz


THREADS = 2


def run_wrk(url: str, concurrency: int, duration: int, script: str | None) -> dict[str, Any]:
    threads = min(THREADS, concurrency)
    cmd = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: (.*)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "rps": rps,
        "p50_ms": _ms(lat["50"]),
        "p90_ms": _ms(lat["90"]),
        "p99_ms": _ms(lat["99"]),
        "requests": total,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sockets.group(1) if sockets else "",
    }


async def _count(bench_url: str) -> dict[str, int]:
    async with await psycopg.AsyncConnection.connect(bench_url) as conn:
        row = await (
            await conn.execute(
                "SELECT (SELECT count(*) FROM scan_events), "
                "(SELECT count(*) FROM scan_events WHERE result IN ('check_in', 'check_out')), "
                "(SELECT count(*) FROM attendance_records)"
            )
        ).fetchone()
        assert row is not None
        return {"scan_events": row[0], "applied": row[1], "records": row[2]}


def measure(meter: CpuMeter, base: str, script: str, c: int, duration: int) -> dict[str, Any]:
    """One round: /health, then the scan, back to back on the same server."""
    before = meter.snapshot()
    health = run_wrk(f"{base}/health", c, duration, None)
    api_s, _ = meter.used(before)
    health["api_cpu_ms"] = api_s * 1000 / max(1, health["requests"])
    before = meter.snapshot()
    scan = run_wrk(base, c, duration, script)
    api_s, db_s = meter.used(before)
    scan["api_cpu_ms"] = api_s * 1000 / max(1, scan["requests"])
    scan["db_cpu_ms"] = db_s * 1000 / max(1, scan["requests"])
    return {"health": health, "scan": scan}


def summary(rounds: list[dict[str, Any]]) -> str:
    """A table row: the median round (by scan/health) and, beside it, every round's ratio and
    the worst p99, so a lucky round cannot stand for the run."""
    ranked = sorted(rounds, key=lambda r: r["scan"]["rps"] / r["health"]["rps"])
    mid = ranked[len(ranked) // 2]
    s, h = mid["scan"], mid["health"]
    ratios = ", ".join(f"{r['scan']['rps'] / r['health']['rps']:.0%}" for r in rounds)
    worst = max(r["scan"]["p99_ms"] for r in rounds)
    p99 = f"{s['p99_ms']:.1f}" + (f" (worst {worst:.1f})" if len(rounds) > 1 else "")
    ratio = f"**{s['rps'] / h['rps']:.0%}**" + (f" ({ratios})" if len(rounds) > 1 else "")
    non_2xx = sum(r["scan"]["non_2xx"] for r in rounds)
    return (
        f"{s['rps']:.0f} | {s['p50_ms']:.1f} | {s['p90_ms']:.1f} | {p99} | {non_2xx} | "
        f"{h['rps']:.0f} | {ratio} | {s['api_cpu_ms']:.2f} + {s['db_cpu_ms']:.2f} | "
        f"{h['api_cpu_ms']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--kiosks", type=int, default=500)
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", default="1,10,50,200")
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="/health + scan pairs per concurrency; the table shows the median pair",
    )  # fmt: skip
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    pairs = seed(args.server_url, args.employees, args.kiosks, args.history_days)
    bench_url = args.server_url.rsplit("/", 1)[0] + f"/{DB_NAME}"
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        lua = LUA.replace("{THREADS}", str(THREADS))
        f.write(lua.replace("{PAIRS}", "{" + ",".join(f'{{"{t}","{c}"}}' for t, c in pairs) + "}"))
        script = f.name
    proc = start_api(bench_url, port, args.workers)
    results: list[dict[str, Any]] = []
    try:
        base = f"http://127.0.0.1:{port}"
        run_wrk(f"{base}/health", 10, 2, None)  # warm up both workers
        run_wrk(base, 10, 3, script)
        meter = CpuMeter(proc.pid, bench_url)
        for c in (int(x) for x in args.concurrency.split(",")):
            rounds = [measure(meter, base, script, c, args.duration) for _ in range(args.rounds)]
            results.append({"concurrency": c, "rounds": rounds})
            for n, r in enumerate(rounds, start=1):
                scan, health = r["scan"], r["health"]
                print(
                    f"c={c} round {n}: scan {scan['rps']:.0f}/s p50 {scan['p50_ms']:.1f} p90 "
                    f"{scan['p90_ms']:.1f} p99 {scan['p99_ms']:.1f} ms non-2xx "
                    f"{scan['non_2xx']} cpu api {scan['api_cpu_ms']:.2f} db "
                    f"{scan['db_cpu_ms']:.2f} ms | health {health['rps']:.0f}/s cpu "
                    f"{health['api_cpu_ms']:.2f} ms | {scan['rps'] / health['rps']:.0%}",
                    file=sys.stderr,
                )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        os.unlink(script)
    counts = asyncio.run(_count(bench_url))
    print(f"\n{args.employees} employees, {args.kiosks} kiosks, {args.workers} uvicorn workers, "
          f"{args.rounds} rounds of {args.duration} s /health + {args.duration} s scan per "
          "concurrency, wrk on the same box\n")  # fmt: skip
    print(
        "| c | scan req/s | p50 ms | p90 ms | p99 ms | non-2xx | /health req/s | scan/health "
        "| scan CPU ms (API + DB) | /health CPU ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['concurrency']} | {summary(r['rounds'])} |")
    print(f"\ndatabase after the run: {counts}; load average {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "counts": counts}, indent=2))


if __name__ == "__main__":
    main()
