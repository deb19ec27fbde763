"""A process's kiosk scan counts that `rate_limits` does not hold yet.

The per-kiosk limit is a flood guard against a runaway or stolen kiosk token. Its counter row
is shared by every scan at that door, so writing it with every batch locked it from each
batch's WRITE to its COMMIT (WAL flush included) and made the batches of two lanes or two
processes wait on each other whenever they held a scan of the same kiosk; at a site with a
few doors, that is every batch. Instead each process counts in memory and adds its counts to
the rows with one batch's WRITE at most every `WRITE_EVERY_SECONDS`; what no batch carried is
written in a transaction of its own once no lane is running and it is due (at once on
shutdown; `group_commit.ScanBatcher._write_counts`). In this process the limit stays exact
(committed rows + these counts + the batch's own, numbered in arrival order); another
process's scans count once it has written them, so across processes the limit can be passed
by up to that second's scans.

The per-badge limit needs no counter: a badge's scans in the window are its scan events,
counted up to the limit by one index probe in the READ (`sql.READ_MANY`).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

from tapwork.attendance.scan.request import WINDOW

WRITE_EVERY_SECONDS = 1.0

Key = tuple[str, datetime]  # (rate-limit key, window start)


def kiosk_key(kiosk_id: Any, window_start: datetime) -> Key:
    return (f"scan:kiosk:{kiosk_id}", window_start)


def rows(counts: Counter[Key]) -> list[dict[str, Any]]:
    """`counts` as the WRITE's `counts` parameter."""
    return [
        {"key": key, "window_start": start, "window_end": start + WINDOW, "n": n}
        for (key, start), n in counts.items()
    ]


class KioskCounts:
    """Counted, committed scans of this process not yet in `rate_limits`; `taken` are the
    ones a write in flight carries (at most one write at a time)."""

    def __init__(self, every: float = WRITE_EVERY_SECONDS) -> None:
        self.every = every
        self.pending: Counter[Key] = Counter()
        self.taken: Counter[Key] | None = None
        self.written_at = time.monotonic() - every  # the first batch writes its own

    def local(self, key: Key) -> int:
        """This process's scans of `key` that a READ cannot see yet."""
        return self.pending[key] + (self.taken[key] if self.taken else 0)

    def take(self, *, now: bool = False) -> Counter[Key] | None:
        """The counts a write is to carry (besides its batch's own), if it is due: the batch
        of a door scanned less than once a second writes its own count, as before. None
        when not due, or when another write carries counts now. `now`: a write of its own,
        if there is anything to write."""
        if self.taken is not None:
            return None
        if now and not self.pending:
            return None
        if not now and time.monotonic() - self.written_at < self.every:
            return None
        self.taken, self.pending = self.pending, Counter()
        return self.taken

    def written(self) -> None:
        """The write carrying `taken` committed."""
        self.taken = None
        self.written_at = time.monotonic()

    def failed(self) -> None:
        """The write carrying `taken` rolled back: they wait for the next one."""
        if self.taken is not None:
            self.pending.update(self.taken)
        self.taken = None

    def add(self, counts: Counter[Key]) -> None:
        """A committed batch's own counts that it did not write."""
        self.pending.update(counts)
