"""Report exports benchmark: what the worker's `report.export` costs, in process.

    uv run python bench/exports.py [--employees 5000] [--reuse]

Seeds `tapwork_bench_exports` with bench/reports.py's organisation (its own database, so it
never disturbs a reports run), then, as HR, queues exports the way the API does
(`exports.create`, the job deferred on the same transaction) and runs each with
`exports.run` on a real engine, measuring wall time, this process's CPU and the database
backends' CPU (`/proc`), this process's peak RSS, and the rows/s of the file written to
`report_export_chunks`; then the time to read the file back chunk by chunk (what
`GET /reports/exports/{id}/file` streams). For comparison, the same CSV straight from COPY
into nothing, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench import reports as bench_reports  # noqa: E402
from tapwork.config import Settings  # noqa: E402
from tapwork.db import create_engine, create_sessionmaker, unit_of_work  # noqa: E402
from tapwork.report import exports, service  # noqa: E402
from tapwork.report.models import ReportExport  # noqa: E402
from tapwork.report.service import Filters  # noqa: E402

DB_NAME = "tapwork_bench_exports"


async def direct_csv(maker: Any, hr: uuid.UUID, filters: Filters, now: datetime) -> int:
    async with unit_of_work(maker) as session:
        viewer = service.Viewer(hr, frozenset({"reports:read_all"}))
        scope = await service.resolve(session, viewer, filters)
        conn = await service.driver_connection(session)
        size = 0
        async for chunk in service.copy_csv(
            conn, service.sql_for("timesheet", filters), scope, now
        ):
            size += len(chunk)
        return size


async def measure(url: str) -> None:
    settings = Settings(
        database_url=url.replace("postgresql://", "postgresql+psycopg://", 1), log_level="WARNING"
    )
    engine = create_engine(settings, pool_size=4, max_overflow=0)
    maker = create_sessionmaker(engine)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM users WHERE employee_id = 'HR0001'").fetchone()
        span = conn.execute(
            "SELECT min(work_date), max(work_date) FROM attendance_records"
        ).fetchone()
    assert row
    assert span
    hr = row[0]
    month = Filters(*bench_reports.MONTH)
    whole = Filters(span[0], span[1])
    now = datetime.now(UTC)
    meter = bench_reports.CpuMeter(os.getpid(), url)
    cases = [
        ("month timesheet CSV", "timesheet", "csv", month),
        ("whole range timesheet CSV", "timesheet", "csv", whole),
        ("month attendance XLSX", "attendance", "xlsx", month),
        ("month timesheet XLSX", "timesheet", "xlsx", month),
    ]
    try:
        t0 = time.perf_counter()
        before = meter.snapshot()
        size = await direct_csv(maker, hr, month, now)
        api, db = meter.used(before)
        took = time.perf_counter() - t0
        print(f"direct COPY, month timesheet CSV: {size / 1e6:.1f} MB in {took:.2f} s; "
              f"CPU here {api:.2f} s + PostgreSQL {db:.2f} s")  # fmt: skip
        for label, kind, fmt, filters in cases:
            async with unit_of_work(maker) as session:
                export = await exports.create(
                    session, hr, exports.Request(kind, fmt, filters), now=now
                )
            rss_before = bench_reports.rss_mb(os.getpid())
            before = meter.snapshot()
            t0 = time.perf_counter()
            with bench_reports.Sampler(os.getpid()) as sampler:
                status = await exports.run(maker, export.id, now=now, settings=settings)
            took = time.perf_counter() - t0
            api, db = meter.used(before)
            async with unit_of_work(maker) as session:
                done = await session.get(ReportExport, export.id)
            assert done is not None
            assert status == "done", (status, done.error_code)
            rows, size_bytes = done.rows or 0, done.size_bytes or 0
            t0 = time.perf_counter()
            served = 0
            async for chunk in exports.chunks(maker, export.id):
                served += len(chunk)
            serve = time.perf_counter() - t0
            assert served == size_bytes
            print(f"{label}: {rows} rows, {size_bytes / 1e6:.1f} MB in {took:.2f} s "
                  f"({rows / took:,.0f} rows/s); CPU worker {api:.2f} s + PostgreSQL {db:.2f} s; "
                  f"worker RSS {rss_before:.0f} -> peak {sampler.peak:.0f} MB; "
                  f"read back in {serve:.2f} s ({size_bytes / 1e6 / serve:.0f} MB/s)")  # fmt: skip
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=5_000)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    bench_reports.DB_NAME = DB_NAME  # seed() and CpuMeter read it
    server = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432")
    server = server.rsplit("/", 1)[0] if server.count("/") > 2 else server
    url = f"{server}/{DB_NAME}"
    if not args.reuse:
        url, _, _ = bench_reports.seed(server, args.employees, 1, 0)
    asyncio.run(measure(url))


if __name__ == "__main__":
    main()
