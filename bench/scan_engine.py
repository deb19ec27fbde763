"""Scan engine cost per scan at a fixed batch size, without HTTP: CPU of the PostgreSQL backend
and of this process for READ + settle + WRITE + COMMIT on one lane.

    uv run python bench/scan_engine.py                       # batches of 1, 4, 16, 64
    uv run python bench/scan_engine.py --batch 16 --rounds 5 --no-seed

Seeds the same database as `bench/scan.py` (5,000 employees, 500 kiosks, a month of history;
`--no-seed` reuses it) and runs `transaction.run` on a lane connection directly, one batch after
another: no HTTP, no event-loop contention, no batching left to chance. Good for comparing two
versions of the SQL or of `scan.settle` (run both, interleaved, and compare medians): the
per-scan CPU here moves far less from run to run than the end-to-end figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.scan import BADGE_SECRET, DB_NAME, seed  # noqa: E402
from tapwork.attendance.scan import transaction  # noqa: E402
from tapwork.attendance.scan.counts import KioskCounts  # noqa: E402
from tapwork.attendance.scan.request import Outcome, ScanRequest, prepare  # noqa: E402
from tapwork.config import Settings  # noqa: E402
from tapwork.kit.clock import utcnow  # noqa: E402
from tapwork.kit.security import hash_token  # noqa: E402

PAIRS_FILE = Path("/tmp/tapwork-bench-pairs.txt")


def _ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


async def measure(
    url: str, pairs: list[list[str]], size: int, scans: int, rounds: int
) -> list[tuple[float, float]]:
    """(database µs, this process µs) of CPU per scan, one pair per round."""
    settings = Settings(
        database_url=url.replace("postgresql://", "postgresql+psycopg://", 1),
        badge_secret=BADGE_SECRET,
        scan_debounce_seconds=0,
        min_rest_minutes=0,
        rate_limit_scan_per_badge_per_minute=10**9,
        rate_limit_scan_per_kiosk_per_minute=10**9,
    )
    conn = await psycopg.AsyncConnection.connect(
        url, prepare_threshold=None, options="-c enable_seqscan=off"
    )
    lane = await transaction.Lane.open(conn, {})
    counts = KioskCounts()
    backend = conn.info.backend_pid
    n = 0

    async def one() -> None:
        nonlocal n
        now = utcnow()
        items = []
        for _ in range(size):
            token, code = pairs[n % len(pairs)]
            n += 1
            scan_id = uuid.uuid4().hex
            req = ScanRequest(kiosk_token=token, code_data=code, client_scan_id=scan_id,
                              captured_at=None, now=now)  # fmt: skip
            items.append(prepare(req, settings))
        results = await transaction.run(lane, items, settings, counts)
        assert all(isinstance(r, Outcome) and r.http_status == 200 for r in results), results

    batches = max(1, scans // size)
    for _ in range(max(5, batches // 10)):  # warm: plans, caches
        await one()
    out = []
    for _ in range(rounds):
        db0, py0 = _ticks(backend), time.process_time()
        for _ in range(batches):
            await one()
        db1, py1 = _ticks(backend), time.process_time()
        hz = os.sysconf("SC_CLK_TCK")
        done = batches * size
        out.append(((db1 - db0) / hz * 1e6 / done, (py1 - py0) * 1e6 / done))
    await conn.close()
    return out


def _seeded(url: str) -> bool:
    """Whether the bench database is the one PAIRS_FILE was written for (`bench/scan.py`
    reseeds it with other tokens)."""
    if not PAIRS_FILE.exists():
        return False
    token = PAIRS_FILE.read_text().split(maxsplit=1)[0]
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT 1 FROM kiosks WHERE token_hash = %s", (hash_token(token),)
            ).fetchone()
    except psycopg.OperationalError:
        return False
    return row is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="1,4,16,64", help="batch sizes, comma-separated")
    parser.add_argument("--scans", type=int, default=3200, help="scans per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-seed", action="store_true", help="reuse the seeded database")
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    url = args.server_url.rsplit("/", 1)[0] + f"/{DB_NAME}"
    if args.no_seed and _seeded(url):
        pairs = [line.split() for line in PAIRS_FILE.read_text().splitlines()]
    else:
        print("seeding...", file=sys.stderr)
        seeded = seed(args.server_url, 5000, 500, 30)
        PAIRS_FILE.write_text("\n".join(f"{t} {c}" for t, c in seeded))
        pairs = [list(p) for p in seeded]
    print("| batch | PostgreSQL µs/scan | API process µs/scan | rounds (DB) |")
    print("|---|---|---|---|")
    for size in (int(x) for x in args.batch.split(",")):
        rounds = asyncio.run(measure(url, pairs, size, args.scans, args.rounds))
        db = statistics.median(r[0] for r in rounds)
        py = statistics.median(r[1] for r in rounds)
        each = ", ".join(f"{r[0]:.0f}" for r in rounds)
        print(f"| {size} | {db:.0f} | {py:.0f} | {each} |", flush=True)


if __name__ == "__main__":
    main()
