"""Reports benchmark: 10,000 employees x a year of working days, measured through the real API.

    uv run python bench/reports.py [--employees 10000 --days 365 --scanners 8 --scan-seconds 15]
    uv run python bench/reports.py --reuse          # skip seeding (same database)
    uv run python bench/reports.py --explain        # also print EXPLAIN ANALYZE of the month

Recreates `tapwork_bench_reports` on BENCH_SERVER_URL (default the local server) at head and
seeds: 20 departments, Madrid and New York, a day shift (09:00-17:00) and a night shift
(22:00-06:00, one employee in ten), and a closed record per employee per weekday of the last
`--days` days with jittered times (late ones included). March 2026 has 22 weekdays: 220,000
records for the month figures. Then starts `uvicorn tapwork.asgi:app` (one process, so its RSS
is the API's memory) from this tree and measures, as HR, over HTTP:

1. the month's per-employee summary as JSON (median of 5);
2. the month's timesheet as CSV, rows/s from request to last byte (median of 5);
3. the month's summary as PDF (median of 3);
4. the API's RSS growth (VmRSS sampled every 10 ms) while streaming the whole range's
   timesheet CSV;
5. scan p99 of `--scanners` concurrent kiosks scanning for `--scan-seconds`, alone and then
   while the whole range's timesheet is exported over and over (same run, same server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tapwork.badge import codec  # noqa: E402
from tapwork.kit.security import encode_access_token, hash_token, new_token  # noqa: E402
from tapwork.migration.revisions import upgrade  # noqa: E402
from tapwork.permissions import SYSTEM_ROLES  # noqa: E402
from tapwork.report import queries  # noqa: E402

DB_NAME = "tapwork_bench_reports"
JWT_SECRET = "bench-jwt-secret-0123456789abcdef0123456789"
BADGE_SECRET = "bench-badge-secret-0123456789abcdef0123"
MONTH = (date(2026, 3, 1), date(2026, 3, 31))

SEED = """
INSERT INTO departments (id, name)
SELECT gen_random_uuid(), 'Department ' || n FROM generate_series(1, 20) n;
INSERT INTO locations (id, name, timezone) VALUES
  (gen_random_uuid(), 'Madrid', 'Europe/Madrid'),
  (gen_random_uuid(), 'New York', 'America/New_York');
INSERT INTO shifts (id, name, start_time, end_time, working_days) VALUES
  (gen_random_uuid(), 'Day', '09:00', '17:00', '{1,2,3,4,5}'),
  (gen_random_uuid(), 'Night', '22:00', '06:00', '{1,2,3,4,5}');
INSERT INTO users (id, email, employee_id, first_name, last_name, role_id, department_id,
                   shift_id, location_id, email_verified_at, created_at)
SELECT gen_random_uuid(), 'bench' || n || '@example.com', 'B' || lpad(n::text, 6, '0'),
       'Bench', 'User' || lpad(n::text, 6, '0'), %(employee_role)s,
       (SELECT id FROM departments ORDER BY name OFFSET n %% 20 LIMIT 1),
       (SELECT id FROM shifts WHERE name = CASE WHEN n %% 10 = 0 THEN 'Night' ELSE 'Day' END),
       (SELECT id FROM locations ORDER BY name OFFSET n %% 2 LIMIT 1),
       now(), '2025-01-01'
FROM generate_series(1, %(employees)s) n;
INSERT INTO holidays (id, holiday_date, name) VALUES (gen_random_uuid(), '2026-01-01', 'New Year');
"""

# One closed record per employee per weekday: check-in jittered -20..+20 min around the shift's
# start in the location's zone (so about a third are late), 7.5-8.5 h worked.
RECORDS = """
INSERT INTO attendance_records (id, user_id, shift_id, location_id, work_date, check_in_at,
    check_out_at, status, minutes_late, worked_minutes, overtime_minutes, early_leave_minutes,
    source)
SELECT gen_random_uuid(), u.id, u.shift_id, u.location_id, d.day, t.check_in,
       t.check_in + make_interval(mins => t.worked),
       CASE WHEN t.jitter > 5 THEN 'late' ELSE 'on_time' END, greatest(t.jitter, 0)
         * (t.jitter > 5)::int,
       t.worked, greatest(t.worked - 480, 0), greatest(480 - t.worked - t.jitter, 0), 'online'
FROM users u
JOIN shifts s ON s.id = u.shift_id
JOIN locations l ON l.id = u.location_id
CROSS JOIN (SELECT g::date AS day FROM generate_series(%(start)s::date, %(end)s::date,
                                                       interval '1 day') g
            WHERE extract(isodow FROM g) < 6) d
CROSS JOIN LATERAL (SELECT (hashtext(u.id::text || d.day) %% 41) - 20 AS jitter,
                           450 + abs(hashtext(d.day || u.id::text) %% 61) AS worked) j
CROSS JOIN LATERAL (SELECT j.jitter, j.worked,
                           ((d.day + s.start_time) AT TIME ZONE l.timezone)
                             + make_interval(mins => j.jitter) AS check_in) t
WHERE u.shift_id IS NOT NULL
-- Day by day, as a live deployment writes them: a month's records lie together on disk.
ORDER BY d.day, u.id
"""


def seed(server: str, employees: int, days: int, badges: int) -> tuple[str, list[str], str]:
    """Returns the bench URL, badge codes and a kiosk token."""
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    url = f"{server}/{DB_NAME}"
    upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
    ring = codec.keyring_for(BADGE_SECRET)
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = min(end - timedelta(days=days - 1), MONTH[0])
    with psycopg.connect(url) as conn:
        role_ids = {}
        for name, (description, permissions) in SYSTEM_ROLES.items():
            role_ids[name] = uuid.uuid4()
            conn.execute(
                "INSERT INTO roles (id, name, description, permissions, is_system) "
                "VALUES (%s, %s, %s, %s, true)",
                (role_ids[name], name, description, sorted(permissions)),
            )
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            for statement in filter(str.strip, SEED.split(";\n")):
                params = {"employee_role": role_ids["employee"], "employees": employees}
                cur.execute(statement, params if "%(" in statement else None)
            cur.execute(RECORDS, {"start": start, "end": end})
            records = cur.rowcount
        print(f"seeded {records} records {start}..{end} in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)  # fmt: skip
        conn.execute(
            "INSERT INTO users (id, email, employee_id, first_name, last_name, role_id, "
            "email_verified_at) VALUES (%s, 'hr@bench', 'HR0001', 'Hana', 'HR', %s, now())",
            (uuid.uuid4(), role_ids["hr_manager"]),
        )
        conn.execute("INSERT INTO badge_keys (kid, is_active) VALUES ('BNCH', true)")
        madrid = conn.execute("SELECT id FROM locations WHERE name = 'Madrid'").fetchone()
        token = new_token()
        conn.execute(
            "INSERT INTO kiosks (id, name, location_id, token_hash, paired_at) "
            "VALUES (%s, 'Bench kiosk', %s, %s, now())",
            (uuid.uuid4(), madrid[0] if madrid else None, hash_token(token)),
        )
        users = conn.execute(
            "SELECT id FROM users WHERE employee_id LIKE 'B%%' ORDER BY employee_id LIMIT %s",
            (badges,),
        ).fetchall()
        codes = []
        for (user_id,) in users:
            badge_id = uuid.uuid4()
            code = codec.encode(badge_id, "BNCH", ring)
            codes.append(code)
            conn.execute(
                "INSERT INTO badges (id, user_id, kid, code_data) VALUES (%s, %s, 'BNCH', %s)",
                (badge_id, user_id, code),
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    with open(ROOT / ".bench_reports_state", "w") as f:
        f.write("\n".join([token, *codes]))
    return url, codes, token


def start_api(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DATABASE_URL": url,
        "JWT_SECRET": JWT_SECRET,
        "BADGE_SECRET": BADGE_SECRET,
        "TAPWORK_ENV": "development",
        "SCAN_DEBOUNCE_SECONDS": "0",
        "MIN_REST_MINUTES": "0",
        "RATE_LIMIT_SCAN_PER_BADGE_PER_MINUTE": "1000000000",
        "RATE_LIMIT_SCAN_PER_KIOSK_PER_MINUTE": "1000000000",
        "RATE_LIMIT_REPORTS_PER_HOUR": "1000000000",
        "RATE_LIMIT_GENERAL_PER_MINUTE": "1000000000",
        "ORGANISATION_NAME": "Bench Corp",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tapwork.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning",
         "--loop", "uvloop", "--http", "httptools"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API did not start")


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


class CpuMeter:
    """CPU seconds of the API process and the bench database's backends: on a box shared with
    other suites the wall clock says more about the neighbours than about the report."""

    def __init__(self, api_pid: int, url: str) -> None:
        self.api_pid, self.url, self.hz = api_pid, url, os.sysconf("SC_CLK_TCK")
        self.conn = psycopg.connect(url, autocommit=True)

    def snapshot(self) -> dict[int, int]:
        pids = [r[0] for r in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (DB_NAME,),
        ).fetchall()]  # fmt: skip
        return {pid: _ticks(pid) for pid in [self.api_pid, *pids]}

    def used(self, before: dict[int, int]) -> tuple[float, float]:
        after = self.snapshot()
        api = (after[self.api_pid] - before.get(self.api_pid, 0)) / self.hz
        db = sum(t - before.get(p, 0) for p, t in after.items() if p != self.api_pid) / self.hz
        return api, db


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, rss_mb(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def timed_get(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> tuple[float, int, int]:
    """Seconds from request to last byte, bytes, lines."""
    t0 = time.perf_counter()
    size = lines = 0
    async with client.stream("GET", path, params=params) as response:
        assert response.status_code == 200, (await response.aread())[:500]
        async for chunk in response.aiter_raw():
            size += len(chunk)
            lines += chunk.count(b"\n")
    return time.perf_counter() - t0, size, lines


async def scanner(base: str, token: str, codes: list[str], stop: float, lat: list[float]) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"X-Kiosk-Token": token}) as client:
        i = 0
        while time.perf_counter() < stop:
            code = codes[i % len(codes)]
            i += 1
            t0 = time.perf_counter()
            r = await client.post(
                "/api/v1/attendance", json={"code_data": code, "client_scan_id": uuid.uuid4().hex}
            )
            lat.append((time.perf_counter() - t0) * 1000)
            assert r.status_code in (200, 202), r.text


async def scan_p99(
    base: str, token: str, codes: list[str], n: int, seconds: float
) -> tuple[float, float, int]:
    lat: list[float] = []
    stop = time.perf_counter() + seconds
    share = len(codes) // n
    await asyncio.gather(
        *(scanner(base, token, codes[i * share : (i + 1) * share], stop, lat) for i in range(n))
    )
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)], len(lat)


async def measure(args: argparse.Namespace, url: str, codes: list[str], token: str) -> None:
    port = 18000 + os.getpid() % 1000
    proc = start_api(url, port)
    base = f"http://127.0.0.1:{port}"
    with psycopg.connect(url) as conn:
        hr = conn.execute("SELECT id FROM users WHERE employee_id = 'HR0001'").fetchone()
        year = conn.execute(
            "SELECT min(work_date), max(work_date) FROM attendance_records"
        ).fetchone()
    assert hr
    assert year
    jwt = encode_access_token(secret=JWT_SECRET, user_id=hr[0], role="hr_manager",
                              now=datetime.now(UTC), ttl=timedelta(hours=2))  # fmt: skip
    month = {"from": MONTH[0].isoformat(), "to": MONTH[1].isoformat()}
    whole = {"from": year[0].isoformat(), "to": year[1].isoformat()}
    try:
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {jwt}"}, timeout=300
        ) as client:
            await timed_get(client, "/api/v1/reports/attendance", month)  # warm-up
            meter = CpuMeter(proc.pid, url)
            before = meter.snapshot()
            runs = [await timed_get(client, "/api/v1/reports/attendance", month) for _ in range(5)]
            api_cpu, db_cpu = meter.used(before)
            print(f"month summary JSON: median {statistics.median(r[0] for r in runs):.3f} s, "
                  f"best {min(r[0] for r in runs):.3f} s, {runs[0][1] / 1e6:.1f} MB; CPU per "
                  f"report: API {api_cpu / 5:.3f} s + PostgreSQL {db_cpu / 5:.3f} s")  # fmt: skip
            csv_params = {**month, "format": "csv"}
            before = meter.snapshot()
            runs = [
                await timed_get(client, "/api/v1/reports/timesheet", csv_params) for _ in range(5)
            ]
            rows = runs[0][2] - 1
            api_cpu, db_cpu = meter.used(before)
            print(f"  CPU per timesheet: API {api_cpu / 5:.3f} s + PostgreSQL {db_cpu / 5:.3f} s")
            med = statistics.median(r[0] for r in runs)
            best = rows / min(r[0] for r in runs)
            print(f"month timesheet CSV: {rows} rows, median {med:.3f} s = "
                  f"{rows / med:,.0f} rows/s, best {best:,.0f} rows/s")  # fmt: skip
            pdf = {**month, "format": "pdf"}
            before = meter.snapshot()
            runs = [await timed_get(client, "/api/v1/reports/attendance", pdf) for _ in range(3)]
            api_cpu, db_cpu = meter.used(before)
            print(f"month summary PDF: median {statistics.median(r[0] for r in runs):.2f} s, "
                  f"{runs[0][1] / 1e6:.1f} MB; CPU per PDF: API {api_cpu / 3:.2f} s + "
                  f"PostgreSQL {db_cpu / 3:.2f} s")  # fmt: skip
            before = rss_mb(proc.pid)
            with Sampler(proc.pid) as sampler:
                took, size, lines = await timed_get(
                    client, "/api/v1/reports/timesheet", {**whole, "format": "csv"}
                )
            print(f"whole range timesheet CSV {whole['from']}..{whole['to']}: {lines - 1} rows, "
                  f"{size / 1e6:.0f} MB in {took:.2f} s; API RSS {before:.0f} MB -> peak "
                  f"{sampler.peak:.0f} MB (growth {sampler.peak - before:.0f} MB)")  # fmt: skip

            if args.skip_scans:
                return
            quiet = await scan_p99(base, token, codes, args.scanners, args.scan_seconds)
            stop = time.perf_counter() + args.scan_seconds
            exports = 0

            async def exporter() -> None:
                nonlocal exports
                while time.perf_counter() < stop:
                    await timed_get(client, "/api/v1/reports/timesheet", {**whole, "format": "csv"})
                    exports += 1

            busy, _ = await asyncio.gather(
                scan_p99(base, token, codes, args.scanners, args.scan_seconds), exporter()
            )
            print(f"scans alone: p50 {quiet[0]:.1f} ms, p99 {quiet[1]:.1f} ms ({quiet[2]} scans); "
                  f"during export: p50 {busy[0]:.1f} ms, p99 {busy[1]:.1f} ms ({busy[2]} scans, "
                  f"{exports} whole-range exports); ratio {busy[1] / quiet[1]:.2f}")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait()


def explain(url: str) -> None:
    params = {
        "everyone": True, "departments": [], "self_id": uuid.uuid4(), "department_id": None,
        "user_id": None, "location_id": None, "status": None, "from_date": MONTH[0],
        "to_date": MONTH[1], "now": datetime.now(UTC),
    }  # fmt: skip
    with psycopg.connect(url) as conn:
        for name, sql in (("ATTENDANCE", queries.ATTENDANCE), ("TIMESHEET", queries.TIMESHEET)):
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
            print(f"--- {name}\n" + "\n".join(r[0] for r in plan))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--badges", type=int, default=400)
    parser.add_argument("--scanners", type=int, default=8)
    parser.add_argument("--scan-seconds", type=float, default=15)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--skip-scans", action="store_true")
    args = parser.parse_args()
    server = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432")
    server = server.rsplit("/", 1)[0] if server.count("/") > 2 else server
    if args.reuse:
        url = f"{server}/{DB_NAME}"
        token, *codes = (ROOT / ".bench_reports_state").read_text().splitlines()
    else:
        url, codes, token = seed(server, args.employees, args.days, args.badges)
    if args.explain:
        explain(url)
    asyncio.run(measure(args, url, codes, token))


if __name__ == "__main__":
    main()
