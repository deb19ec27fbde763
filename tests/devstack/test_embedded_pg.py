"""The embedded PostgreSQL with both kinds of binaries: data survives a stop and a start."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tapwork.devstack.embedded_pg import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    find_binaries,
    free_port,
)

# Located without importing pgserver, whose import warns about XDG_RUNTIME_DIR.
_spec = importlib.util.find_spec("pgserver")
assert _spec is not None
assert _spec.submodule_search_locations
PGSERVER_BIN = Path(_spec.submodule_search_locations[0]) / "pginstall" / "bin"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="tapwork-pg-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status")
        if not status.exists() or "\nState:\tZ" in status.read_text():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("binaries", [find_binaries()[0], PGSERVER_BIN], ids=["system", "pgserver"])
def test_data_survives_a_restart_and_stop_leaves_nothing_running(
    data_dir: Path, binaries: Path
) -> None:
    port = free_port()
    pg = EmbeddedPostgres(data_dir, password="s3cret-pw", port=port, binaries=binaries)
    url = pg.start()
    assert url == f"postgresql://postgres:s3cret-pw@127.0.0.1:{port}/tapwork"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    pid = pg.postmaster_pid()
    assert pid is not None
    pg.stop()
    assert _gone(pid)

    again = EmbeddedPostgres(data_dir, password="s3cret-pw", port=port, binaries=binaries)
    with psycopg.connect(again.start()) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == ("still here",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url.replace("s3cret-pw", "wrong"), connect_timeout=5)
    again.stop()


def test_a_lost_password_is_explained_and_the_server_stopped(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir, password="the-first-one", port=free_port())
    first.start()
    first.stop()

    stranger = EmbeddedPostgres(data_dir, password="another-one", port=free_port())
    with pytest.raises(EmbeddedPostgresError, match=r"secrets\.json: if that file was removed"):
        stranger.start()
    stranger.stop()
    assert not stranger.is_running()


def test_free_ports_stay_below_the_ephemeral_range() -> None:
    # An ephemeral port can be taken by any outgoing connection before the server binds it.
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(10000 <= p < low for p in ports), ports
    assert len(ports) > 1
