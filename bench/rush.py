"""A morning rush end to end: scans from many kiosks, their mail, and the CPU it all costs.

    uv run python bench/rush.py [--scans 10000 --kiosks 50 --late 0.3 --api-workers 2 \
        --workers 1]

Recreates the bench database (bench/scan.py's seed: one employee per scan, signed badges,
paired kiosks), gives a `--late` share of the employees a shift that started two hours ago (so
their check-in is late and their department's manager gets a `late_alert`) and the rest one
that starts in an hour, then starts the API (uvicorn, as bench/scan.py), `--workers`
`tapwork worker` processes and a counting SMTP sink, all from the checked-out tree. Each kiosk
is one keep-alive connection sending its employees' check-ins back to back. Reports:

- the time from the first scan sent to the last scan answered, and to the last mail accepted
  by the sink (every confirmation and late alert, counted against the outbox);
- CPU per scan, from /proc: API processes, the bench database's backends (the share of the
  workers' backends shown apart: they run with PGAPPNAME), the workers (the sink's is the
  relay's, shown apart). The load generator's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import outbox as outbox_bench
import scan as scan_bench

ROOT = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Europe/Madrid")  # the seed's location
WORKER_APP = "tapwork-bench-rush-worker"


class SplitMeter(scan_bench.CpuMeter):
    """scan.py's meter, with the database's CPU split by whose backend it is: the worker's
    (PGAPPNAME, and the outbox owner's own connection) or the API's."""

    def worker_backends(self) -> set[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND "
            "(application_name = %s OR application_name = 'tapwork-outbox-owner')",
            (scan_bench.DB_NAME, WORKER_APP),
        ).fetchall()
        return {r[0] for r in rows}

    def split(self, before: dict[int, int], worker_pids: set[int]) -> tuple[float, float, float]:
        """CPU seconds since `before` of (the API processes, the other backends, the
        worker's backends), from one snapshot."""
        after = self.snapshot()
        api = api_db = worker_db = 0
        for pid, ticks in after.items():
            used = ticks - before.get(pid, 0)
            if pid in self.api_pids:
                api += used
            elif pid in worker_pids:
                worker_db += used
            else:
                api_db += used
        return api / self.hz, api_db / self.hz, worker_db / self.hz


def shape_shifts(bench_url: str, late_share: float) -> int:
    """Late and on-time shifts around now; a manager for the department. Returns late count."""
    now = datetime.now(ZONE)
    late_start = (now - timedelta(hours=2)).strftime("%H:%M")
    late_end = (now + timedelta(hours=6)).strftime("%H:%M")
    early_start = (now + timedelta(hours=1)).strftime("%H:%M")
    early_end = (now + timedelta(hours=9)).strftime("%H:%M")
    with psycopg.connect(bench_url) as conn:
        conn.execute("UPDATE shifts SET start_time = %s, end_time = %s", (early_start, early_end))
        late_id = uuid.uuid4()
        conn.execute(
            "INSERT INTO shifts (id, name, start_time, end_time, working_days) "
            "VALUES (%s, 'Late', %s, %s, '{1,2,3,4,5,6,7}')",
            (late_id, late_start, late_end),
        )
        total = conn.execute("SELECT count(*) FROM users").fetchone()
        assert total is not None
        late = int(total[0] * late_share)
        conn.execute(
            "UPDATE users SET shift_id = %s WHERE id IN "
            "(SELECT id FROM users ORDER BY employee_id LIMIT %s)",
            (late_id, late),
        )
        manager = uuid.uuid4()
        conn.execute(
            "INSERT INTO users (id, email, employee_id, first_name, last_name, role_id, "
            "department_id, email_verified_at) SELECT %s, 'manager@example.com', 'M-1', "
            "'Mona', 'Manager', role_id, department_id, now() FROM users LIMIT 1",
            (manager,),
        )
        conn.execute("UPDATE departments SET manager_id = %s", (manager,))
        conn.execute("ANALYZE")
    return late


def start_api(bench_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """bench/scan.py's API, given two minutes to come up (a loaded box imports slowly)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DATABASE_URL": bench_url,
        "BADGE_SECRET": scan_bench.BADGE_SECRET,
        "TAPWORK_ENV": "development",
        "SCAN_DEBOUNCE_SECONDS": "0",
        "MIN_REST_MINUTES": "0",
        "RATE_LIMIT_SCAN_PER_BADGE_PER_MINUTE": "1000000000",
        "RATE_LIMIT_SCAN_PER_KIOSK_PER_MINUTE": "1000000000",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tapwork.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API did not start")


def start_workers(bench_url: str, smtp_port: int, count: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "TAPWORK_ENV": "development",
        "DATABASE_URL": bench_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "true",
        "PYTHONUNBUFFERED": "1",
        # libpq's default application_name: the worker's backends are told apart from the
        # API's, so the database's CPU is split into the scans' share and the mail's.
        "PGAPPNAME": WORKER_APP,
    }
    tmp = Path(tempfile.mkdtemp(prefix="tapwork-bench-rush-"))
    logs = [tmp / f"worker{n}.log" for n in range(count)]
    procs = []
    for log in logs:
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [str(outbox_bench.TAPWORK), "worker", "--concurrency", "2"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
    outbox_bench._wait_started(logs, procs)
    return procs


async def kiosk(port: int, token: str, codes: list[str], done: list[float]) -> int:
    """One kiosk: its check-ins back to back on one keep-alive connection. Returns non-2xx."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    bad = 0
    for n, code in enumerate(codes):
        body = json.dumps({"code_data": code, "client_scan_id": f"rush-{token[:8]}-{n}"}).encode()
        writer.write(
            b"POST /api/v1/attendance HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nX-Kiosk-Token: " + token.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        bad += not 200 <= status < 300
    done.append(time.time())
    writer.close()
    return bad


async def drive(port: int, pairs: list[tuple[str, str]], kiosks: int) -> tuple[float, float, int]:
    per_kiosk: dict[str, list[str]] = {}
    for token, code in pairs:
        per_kiosk.setdefault(token, []).append(code)
    assert len(per_kiosk) == kiosks
    done: list[float] = []
    started = time.time()
    bad = await asyncio.gather(*(kiosk(port, t, c, done) for t, c in per_kiosk.items()))
    return started, max(done), sum(bad)


def wait_mail(bench_url: str, timeout: float = 600) -> int:
    """Until every outbox row is sent; returns how many there are."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(bench_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE status <> 'sent') FROM email_outbox"
            ).fetchone()
            assert row is not None
            if row[1] == 0:
                return int(row[0])
            time.sleep(0.05)
    raise RuntimeError("mail was not all sent in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=10000)
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--late", type=float, default=0.3, help="share of late check-ins")
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="tapwork worker processes")
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    # Its own database: bench/scan.py (perhaps running from another checkout) keeps its own.
    scan_bench.DB_NAME = "tapwork_bench_rush"
    pairs = scan_bench.seed(args.server_url, args.scans, args.kiosks, 0)
    bench_url = args.server_url.rsplit("/", 1)[0] + f"/{scan_bench.DB_NAME}"
    late = shape_shifts(bench_url, args.late)
    print(f"seeded {len(pairs)} employees", file=sys.stderr, flush=True)
    sink = outbox_bench.Sink(0)
    sink.reset()
    port = scan_bench.free_port()
    hz = os.sysconf("SC_CLK_TCK")
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = []
    try:
        api = start_api(bench_url, port, args.api_workers)
        print("API up", file=sys.stderr, flush=True)
        workers = start_workers(bench_url, sink.port, args.workers)
        print("workers up", file=sys.stderr, flush=True)
        time.sleep(2)  # the API's workers import and connect
        meter = SplitMeter(api.pid, bench_url)
        before = meter.snapshot()
        worker_ticks = sum(scan_bench._ticks(w.pid) for w in workers)
        sink_ticks = scan_bench._ticks(sink.pid)
        load = os.getloadavg()[0]
        print(f"driving {len(pairs)} scans", file=sys.stderr, flush=True)
        first, last_scan, bad = asyncio.run(drive(port, pairs, args.kiosks))
        print(f"scans done in {last_scan - first:.1f} s, waiting for mail", file=sys.stderr)
        mails = wait_mail(bench_url)
        worker_backends = meter.worker_backends()
        api_cpu, db_scan, db_mail = meter.split(before, worker_backends)
        db_cpu = db_scan + db_mail
        worker_cpu = (sum(scan_bench._ticks(w.pid) for w in workers) - worker_ticks) / hz
        sink_cpu = (scan_bench._ticks(sink.pid) - sink_ticks) / hz
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(timeout=60)
        if api is not None:
            api.terminate()
            api.wait(timeout=20)
        count, _ = sink.stop()
    last_mail = sink.last_accepted
    if count != mails:
        raise RuntimeError(f"the sink got {count} mails, the outbox has {mails}")
    scans = len(pairs)
    per_scan = {
        "api": api_cpu / scans * 1000,
        "db": db_cpu / scans * 1000,
        "worker": worker_cpu / scans * 1000,
    }
    print(
        f"{scans} check-ins from {args.kiosks} kiosks ({late} late, non-2xx {bad}); "
        f"{mails} mails; {args.api_workers} API workers, {args.workers} tapwork worker(s); "
        f"{os.cpu_count()} cores, load average {load:.1f} at start"
    )
    print(f"  first scan -> last scan answered   {last_scan - first:7.2f} s")
    print(f"  first scan -> last mail accepted   {last_mail - first:7.2f} s")
    print(f"  last scan  -> last mail accepted   {last_mail - last_scan:7.2f} s")
    print(
        f"  CPU per scan: API {per_scan['api']:.2f} + DB {per_scan['db']:.2f} + worker "
        f"{per_scan['worker']:.2f} = {sum(per_scan.values()):.2f} ms "
        f"(worker {worker_cpu / max(mails, 1) * 1000:.2f} ms per mail; "
        f"the sink {sink_cpu / max(mails, 1) * 1000:.2f} ms per mail, not counted)"
    )
    print(
        f"  DB per scan: the worker's backends {db_mail / scans * 1000:.2f} ms of it "
        f"(the outbox's claims and updates), the rest {db_scan / scans * 1000:.2f} ms"
    )
    print(json.dumps({k: round(v, 3) for k, v in per_scan.items()}))


if __name__ == "__main__":
    main()
