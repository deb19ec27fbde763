from __future__ import annotations

from datetime import datetime, timedelta


class FrozenClock:
    """An injectable `now` that tests move forward instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now
