"""The committed TypeScript API types must match the API: a fresh dump regenerates the same file.

Fails when an endpoint or schema changed without `npm run gen:api` (in frontend/).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tapwork.devstack import frontend

SCHEMA = frontend.FRONTEND_DIR / "shared" / "src" / "api" / "schema.d.ts"
GENERATOR = frontend.FRONTEND_DIR / "node_modules" / ".bin" / "openapi-typescript"


def test_generated_api_types_are_current(tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(frontend.openapi_document(), indent=2) + "\n")
    out = tmp_path / "schema.d.ts"
    assert GENERATOR.exists(), "run `npm ci` in frontend/ first"
    subprocess.run(
        [str(GENERATOR), str(document), "-o", str(out)],
        check=True,
        capture_output=True,
        cwd=frontend.FRONTEND_DIR,
    )
    assert shutil.which("node")
    assert out.read_text() == SCHEMA.read_text(), (
        "frontend/shared/src/api/schema.d.ts is stale: run `npm run gen:api` in frontend/"
    )
