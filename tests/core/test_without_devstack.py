"""A production install has no `devstack` extra: the API, worker and migrations must not need it.

The check runs in a fresh interpreter where importing pgserver, aiosmtpd or platformdirs fails,
as it would where the extra is not installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import sys
    from importlib.abc import MetaPathFinder

    class NotInstalled(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"pgserver", "aiosmtpd", "platformdirs"}:
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NotInstalled())

    from typer.testing import CliRunner

    from tapwork.cli import app as cli
    from tapwork.config import Settings
    from tapwork.main import create_app
    from tapwork.migration.bootstrap import migrate_database
    from tapwork.worker.run import run_worker

    create_app(Settings(TAPWORK_ENV="test", log_json=False))
    for command in ("api", "worker", "migrate"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0, result.output
    loaded = sorted(m for m in sys.modules if m.startswith("tapwork.devstack"))
    assert not loaded, loaded
    print("runtime ok")
    """
)


def test_api_worker_and_migrate_import_without_the_devstack_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("runtime ok")


def test_the_blocker_hides_the_extra() -> None:
    # Without this the first test could pass only because the blocker does nothing.
    program = PROGRAM.split("from typer.testing")[0] + "import pgserver\n"
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "No module named 'pgserver'" in done.stderr
