"""Report exports benchmark: what the worker's `report.export` costs, in process.

    uv run python bench/exports.py [--employees 5000] [--reuse]
    uv run python bench/exports.py --year-json [--database tapwork_bench_reports]

Seeds `tapwork_bench_exports` with bench/reports.py's organisation (its own database, so it
never disturbs a reports run), then, as HR, queues exports the way the API does
(`exports.create`, the job deferred on the same transaction) and runs each with
`exports.run` on a real engine, measuring wall time, this process's CPU and the database
backends' CPU (`/proc`), this process's peak RSS, and the rows/s of the file written to
`report_export_chunks`; then the time to read the file back chunk by chunk (what
`GET /reports/exports/{id}/file` streams). For comparison, the same CSV straight from COPY
into nothing, in the same run. XLSX and JSON exports also report the peak size of the
temporary files this process holds open (xlsxwriter's sheet, the workbook: the pods' /tmp
emptyDir).

`--year-json` only reads an existing bench database (bench/reports.py's, 10,000 employees x a
year): the whole range's timesheet JSON streamed by `service.json_document` into nothing, and
a month's as the former single `json_agg` value, each with this process's peak RSS; then the
whole range's JSON from a real API process (`GET /reports/timesheet?format=json`), its RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench import reports as bench_reports  # noqa: E402
from tapwork import models  # noqa: E402, F401 - every table mapped, with --reuse too
from tapwork.config import Settings  # noqa: E402
from tapwork.db import create_engine, create_sessionmaker, unit_of_work  # noqa: E402
from tapwork.kit.security import encode_access_token  # noqa: E402
from tapwork.report import exports, render, service  # noqa: E402
from tapwork.report.models import ReportExport  # noqa: E402
from tapwork.report.service import Filters  # noqa: E402

DB_NAME = "tapwork_bench_exports"


class TmpSampler:
    """Peak bytes of the files in the exports' temporary directories (`tapwork-xlsx-*` under
    the temporary directory: the workbook and xlsxwriter's sheet files)."""

    def __init__(self) -> None:
        self.root, self.peak, self._stop = Path(tempfile.gettempdir()), 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def size(self) -> int:
        total = 0
        for path in self.root.glob("tapwork-xlsx-*/*"):
            try:
                total += path.stat().st_size
            except OSError:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.size())
            time.sleep(0.02)

    def __enter__(self) -> TmpSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


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


async def measure(url: str, only: str | None) -> None:
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
        ("month monthly-sheet XLSX", "monthly-sheet", "xlsx", month),
        ("month timesheet JSON", "timesheet", "json", month),
        ("whole range timesheet JSON", "timesheet", "json", whole),
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
            if only and only not in label:
                continue
            async with unit_of_work(maker) as session:
                export = await exports.create(
                    session, hr, exports.Request(kind, fmt, filters), now=now
                )
            rss_before = bench_reports.rss_mb(os.getpid())
            before = meter.snapshot()
            t0 = time.perf_counter()
            with bench_reports.Sampler(os.getpid()) as sampler, TmpSampler() as tmp:
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
                  f"temporary files peak {tmp.peak / 1e6:.1f} MB; "
                  f"read back in {serve:.2f} s ({size_bytes / 1e6 / serve:.0f} MB/s)")  # fmt: skip
    finally:
        await engine.dispose()


async def year_json(url: str) -> None:
    """Read-only: the whole range's timesheet JSON streamed, then a month's as one json_agg."""
    settings = Settings(
        database_url=url.replace("postgresql://", "postgresql+psycopg://", 1), log_level="WARNING"
    )
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    maker = create_sessionmaker(engine)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM users WHERE employee_id = 'HR0001'").fetchone()
        span = conn.execute(
            "SELECT min(work_date), max(work_date) FROM attendance_records"
        ).fetchone()
    assert row
    assert span
    viewer = service.Viewer(row[0], frozenset({"reports:read_all"}))
    now = datetime.now(UTC)
    meter = bench_reports.CpuMeter(os.getpid(), url)
    try:
        for label, filters in (("whole range", Filters(span[0], span[1])),
                               ("month", Filters(*bench_reports.MONTH))):  # fmt: skip
            meta = render.Meta("timesheet", "Bench", filters.from_date, filters.to_date, now, "en")
            async with unit_of_work(maker) as session:
                scope = await service.resolve(session, viewer, filters)
                conn = await service.driver_connection(session)
                sql = service.sql_for("timesheet", filters)
                rss_before = bench_reports.rss_mb(os.getpid())
                before = meter.snapshot()
                t0 = time.perf_counter()
                size = rows = 0
                with bench_reports.Sampler(os.getpid()) as sampler:
                    async for chunk in service.json_document(conn, sql, scope, now, meta):
                        size += len(chunk)
                        rows += chunk.count(b", \n ")
                took = time.perf_counter() - t0
                api, db = meter.used(before)
                print(f"{label} timesheet JSON streamed: {rows + 1} rows, {size / 1e6:.0f} MB in "
                      f"{took:.1f} s; CPU here {api:.2f} s + PostgreSQL {db:.2f} s; "
                      f"RSS {rss_before:.0f} -> peak {sampler.peak:.0f} MB")  # fmt: skip
                if label != "month":
                    continue
                # The former way, one json_agg value (a month: a year passes 1 GB and fails).
                rss_before = bench_reports.rss_mb(os.getpid())
                t0 = time.perf_counter()
                with bench_reports.Sampler(os.getpid()) as sampler:
                    await service.tune(conn)
                    async with conn.cursor() as cur:
                        await cur.execute(
                            f"SELECT coalesce(json_agg(t), '[]'::json)::text FROM ({sql}) t",
                            scope.params(now),
                        )
                        value = await cur.fetchone()
                        size = len(str(value[0]).encode()) if value else 0
                    del value
                took = time.perf_counter() - t0
                print(f"{label} timesheet JSON as one json_agg: {size / 1e6:.0f} MB in "
                      f"{took:.1f} s; RSS {rss_before:.0f} -> peak "
                      f"{sampler.peak:.0f} MB")  # fmt: skip
    finally:
        await engine.dispose()


async def year_json_api(url: str) -> None:
    """Read-only: the whole range's timesheet JSON from a real API process (uvicorn), its RSS."""
    port = 19000 + os.getpid() % 1000
    proc = bench_reports.start_api(url, port)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM users WHERE employee_id = 'HR0001'").fetchone()
        span = conn.execute(
            "SELECT min(work_date), max(work_date) FROM attendance_records"
        ).fetchone()
    assert row
    assert span
    jwt = encode_access_token(secret=bench_reports.JWT_SECRET, user_id=row[0],
                              role="hr_manager", now=datetime.now(UTC),
                              ttl=timedelta(hours=2))  # fmt: skip
    params = {"from": span[0].isoformat(), "to": span[1].isoformat(), "format": "json"}
    try:
        headers = {"Authorization": f"Bearer {jwt}"}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=600, headers=headers
        ) as client:
            week = {"from": span[0].isoformat(), "to": span[0].isoformat()}
            await bench_reports.timed_get(client, "/api/v1/reports/attendance", week)  # warm-up
            before = bench_reports.rss_mb(proc.pid)
            with bench_reports.Sampler(proc.pid) as sampler:
                took, size, _ = await bench_reports.timed_get(
                    client, "/api/v1/reports/timesheet", params
                )
            print(f"API, whole range timesheet JSON: {size / 1e6:.0f} MB in {took:.1f} s; "
                  f"API RSS {before:.0f} -> peak {sampler.peak:.0f} MB")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=5_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--year-json", action="store_true")
    parser.add_argument("--database", default=None)
    parser.add_argument("--only", default=None, help="run the cases whose label has this")
    args = parser.parse_args()
    bench_reports.DB_NAME = DB_NAME  # seed() and CpuMeter read it
    server = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432")
    server = server.rsplit("/", 1)[0] if server.count("/") > 2 else server
    if args.year_json:
        bench_reports.DB_NAME = args.database or "tapwork_bench_reports"  # read only
        asyncio.run(year_json(f"{server}/{bench_reports.DB_NAME}"))
        asyncio.run(year_json_api(f"{server}/{bench_reports.DB_NAME}"))
        return
    url = f"{server}/{DB_NAME}"
    if not args.reuse:
        url, _, _ = bench_reports.seed(server, args.employees, 1, 0)
    asyncio.run(measure(url, args.only))


if __name__ == "__main__":
    main()
