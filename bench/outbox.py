"""Outbox throughput: mails per second from committed outbox rows to an SMTP server.

    uv run python bench/outbox.py [--mails 2000] [--database-url postgresql://...]

Creates (and drops) a scratch database `tapwork_bench_outbox` on the server, starts an
aiosmtpd sink that only counts, then for 1 and 2 `tapwork worker` processes: waits until they
are up, commits N rows in one transaction, and times commit → every row `sent`. The sink counts
what arrived, so a duplicate would show. Also times the delivery loop in-process (no
subprocess start, one connection) as the ceiling of one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from aiosmtpd.controller import Controller
from psycopg.types.json import Jsonb

from tapwork.config import Settings
from tapwork.db import create_engine, create_sessionmaker
from tapwork.kit.clock import utcnow
from tapwork.kit.logging import configure_logging
from tapwork.migration.revisions import upgrade
from tapwork.notification.delivery import deliver_batch

DB_NAME = "tapwork_bench_outbox"
TAPWORK = Path(sys.executable).parent / "tapwork"


class CountingSink:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.count = 0
        self.recipients: set[str] = set()
        self.last = 0.0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)  # a remote relay's round trip
        with self._lock:
            self.count += 1
            self.recipients.update(envelope.rcpt_tos)
            self.last = time.time()
        return "250 OK"

    def reset(self) -> None:
        with self._lock:
            self.count = 0
            self.recipients.clear()


def run_sink(port: int, delay: float) -> None:
    """`--sink PORT`: count mails until SIGTERM, then print the count and distinct recipients.

    A process of its own, so the sink does not compete with the worker for one GIL.
    """
    sink = CountingSink(delay)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()
    counts = {"count": sink.count, "recipients": len(sink.recipients), "last": sink.last}
    print(json.dumps(counts), flush=True)


class Sink:
    """The counting SMTP server in a child process; `reset()` starts a fresh count."""

    def __init__(self, delay_ms: int = 0) -> None:
        self.port = _free_port()
        self.delay_ms = delay_ms
        self._proc: subprocess.Popen[str] | None = None
        self.last_accepted = 0.0  # wall-clock time the last mail was accepted (after stop())

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def reset(self) -> None:
        if self._proc is not None:
            self.stop()
        self._proc = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(self.port), "--relay-ms", str(self.delay_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        if self._proc.stdout.readline().strip() != "ready":
            raise RuntimeError("sink did not start")

    def stop(self) -> tuple[int, int]:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGTERM)
        out, _ = self._proc.communicate(timeout=30)
        self._proc = None
        counts = json.loads(out.strip().splitlines()[-1])
        self.last_accepted = float(counts["last"])
        return int(counts["count"]), int(counts["recipients"])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_db(url: str, name: str) -> str:
    return url.rpartition("/")[0] + "/" + name


def _fill(url: str, mails: int, run: str) -> None:
    """Commit `mails` outbox rows in one transaction, like a burst of scans would."""
    rows = [
        (
            "attendance_confirmation",
            f"bench{n}.{run}@example.com",
            Jsonb(
                {
                    "first_name": "Bench",
                    "action": "check_in",
                    "at_local": "09:01",
                    "location": "Madrid HQ",
                    "status": "on_time",
                }
            ),
        )
        for n in range(mails)
    ]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO email_outbox (kind, to_address, context) VALUES (%s, %s, %s)", rows
        )


def _wait_all_sent(url: str) -> None:
    # One connection for the whole wait: a connection per poll would load the server we measure.
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM email_outbox WHERE status <> 'sent'"
            ).fetchone()
            if row is not None and row[0] == 0:
                return
            time.sleep(0.05)


CPU_MS: dict[str, float] = {}


def _ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _clear(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE email_outbox")


def _wait_started(logs: list[Path], procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited: {log.read_text()[-2000:]}")
        if all('"worker_started"' in log.read_text(errors="replace") for log in logs):
            return
        time.sleep(0.1)
    raise RuntimeError("workers did not start")


def bench_processes(url: str, sink: Sink, workers: int, mails: int, connections: int) -> float:
    _clear(url)
    sink.reset()
    smtp_port = sink.port
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "true",
        "PYTHONUNBUFFERED": "1",
        "OUTBOX_CONNECTIONS": str(connections),
    }
    tmp = Path(tempfile.mkdtemp(prefix="tapwork-bench-outbox-"))
    logs = [tmp / f"worker{n}.log" for n in range(workers)]
    procs = []
    for log in logs:
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [str(TAPWORK), "worker", "--concurrency", "2"],
                    env={**env, "LOG_LEVEL": "INFO"},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        _wait_started(logs, procs)
        run = f"p{workers}.{random.randrange(10**6)}"
        ticks = sum(_ticks(p.pid) for p in procs)
        _fill(url, mails, run)
        started = time.monotonic()
        _wait_all_sent(url)
        elapsed = time.monotonic() - started
        cpu = (sum(_ticks(p.pid) for p in procs) - ticks) / os.sysconf("SC_CLK_TCK")
        CPU_MS[f"{workers}x{connections}"] = cpu / mails * 1000
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=60) for proc in procs]
    count, recipients = sink.stop()
    if count != mails or recipients != mails:
        raise RuntimeError(f"sink got {count} mails for {recipients} recipients")
    if codes != [0] * workers:
        raise RuntimeError(f"worker exit codes {codes}")
    return mails / elapsed


async def bench_in_process(url: str, sink: Sink, mails: int) -> float:
    _clear(url)
    sink.reset()
    smtp_port = sink.port
    settings = Settings(
        TAPWORK_ENV="test",
        database_url=url,
        smtp_port=smtp_port,
        log_level="WARNING",
        log_json=True,
    )
    configure_logging(settings.log_level, json=True)
    _fill(url, mails, f"inproc.{random.randrange(10**6)}")
    engine = create_engine(settings, pool_size=2)
    maker = create_sessionmaker(engine)

    started, cpu = time.monotonic(), time.process_time()
    while (await deliver_batch(maker, settings, clock=utcnow)).claimed:
        pass
    elapsed = time.monotonic() - started
    CPU_MS["in-process"] = (time.process_time() - cpu) / mails * 1000
    await engine.dispose()
    count, _ = sink.stop()
    if count != mails:
        raise RuntimeError(f"sink got {count} of {mails}")
    return mails / elapsed


def _run(coro: Any) -> Any:
    import inspect

    from tapwork import cli

    if "uvloop" in inspect.getsource(cli.worker):
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--in-process-only", action="store_true", help="only the in-process loop (quick)"
    )
    parser.add_argument(
        "--relay-ms", type=int, default=0, help="delay the sink adds per mail (a remote relay)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "TAPWORK_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server URL; a scratch database is created beside it",
    )
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink, args.relay_ms / 1000)
        return
    server = args.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    url = _with_db(server, DB_NAME)
    upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))

    sink = Sink(args.relay_ms)
    results: dict[str, float] = {}
    load = os.getloadavg()[0]
    try:
        # uvloop, as `tapwork worker` runs (when the tree measured does; the old one did not).
        results["in-process loop (1 connection)"] = _run(bench_in_process(url, sink, args.mails))
        for workers, connections in () if args.in_process_only else ((1, 1), (1, 2), (2, 2)):
            name = f"{workers} worker process(es) x {connections} SMTP connection(s)"
            results[name] = bench_processes(url, sink, workers, args.mails, connections)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    print(
        f"{args.mails} mails (attendance_confirmation, rendered at send time) into aiosmtpd "
        f"(+{args.relay_ms} ms per mail); "
        f"{os.cpu_count()} cores, load average {load:.1f} at start"
    )
    for name, rate in results.items():
        print(f"  {name:42s} {rate:8.0f} mails/s")
    print("worker CPU per mail (ms):", {k: round(v, 2) for k, v in CPU_MS.items()})
    print(json.dumps({k: round(v) for k, v in results.items()}))


if __name__ == "__main__":
    main()
