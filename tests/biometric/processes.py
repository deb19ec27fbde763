"""The face service as a real process (`tapwork biometric`), and a "service" that hangs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tapwork.devstack.embedded_pg import free_port
from tests.biometric.conftest import KEY, SECRET


@contextmanager
def service_process(**env_overrides: str) -> Iterator[str]:
    """`tapwork biometric` on a free port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "BIOMETRIC_KEY": KEY,
        "BIOMETRIC_SECRET": SECRET,
        "BIOMETRIC_WORKERS": "1",
        **env_overrides,
    }
    command = str(Path(sys.executable).with_name("tapwork"))
    proc = subprocess.Popen(
        [command, "biometric", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "the biometric service exited"
            assert time.monotonic() < deadline, "the biometric service did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def hanging_service() -> Iterator[str]:
    """A port that accepts connections and never answers (a wedged service)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # the kernel completes handshakes; nobody ever reads
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"
