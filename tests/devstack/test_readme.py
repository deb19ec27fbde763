"""The README's commands work as written: `tapwork` is reached through the project's
environment (`.venv/bin/tapwork`), which is not on a fresh machine's PATH, and every
subcommand the README names exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_the_readme_runs_tapwork_from_the_project_environment() -> None:
    assert ".venv/bin/tapwork" in README
    # The test runs inside that environment: its interpreter's folder holds the script.
    script = Path(sys.executable).parent / "tapwork"
    assert script.exists()
    listed = re.search(r"`tapwork ([^`]+)`\. `\./dev up` installs", README)
    assert listed, "the Commands section lists the subcommands"
    names = {part.strip().split()[0] for part in listed.group(1).replace("\n", " ").split("|")}
    help_text = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    missing = sorted(n for n in names if not re.search(rf"│ {re.escape(n)}\b", help_text))
    assert missing == [], help_text


def test_the_readme_links_the_api_to_a_page_that_answers() -> None:
    # /api/v1 itself is no page; /docs is (tests/core/test_apidocs.py serves it).
    assert "<http://localhost:8000/docs>" in README
    assert "<http://localhost:8000/api/v1>" not in README
