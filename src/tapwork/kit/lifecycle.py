"""Graceful shutdown of an API process: SIGTERM first makes it unready, then stops it.

On SIGTERM the process keeps serving for `drain_seconds` while `/ready` answers 503, so load
balancers (Kubernetes endpoints, nginx health checks) stop sending it new requests; then
uvicorn's own graceful exit runs: the listening socket closes, requests in flight finish
(bounded by uvicorn's `timeout_graceful_shutdown`), and the lifespan's shutdown drains the scan
batcher. A second SIGTERM, or SIGINT, skips the wait.

Installed from the lifespan startup, i.e. after uvicorn has put its own handler in place, which
it wraps; so it works however uvicorn was started (`tapwork api`, `uvicorn`, several workers).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog

log = structlog.get_logger("tapwork.lifecycle")

_draining_since: float | None = None


def draining() -> bool:
    return _draining_since is not None


def install_drain_on_sigterm(drain_seconds: float) -> bool:
    """Wrap the current SIGTERM handler; False when it cannot be (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    previous: Any = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return False
    forward: Callable[[int, FrameType | None], Any] = previous

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        global _draining_since
        if _draining_since is not None or drain_seconds <= 0:
            forward(signum, frame)
            return
        _draining_since = time.monotonic()
        log.info("api_draining", drain_seconds=drain_seconds)
        timer = threading.Timer(drain_seconds, forward, (signum, frame))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_sigterm)
    return True
