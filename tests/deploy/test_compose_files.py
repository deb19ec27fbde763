"""The Compose files and Dockerfiles, checked without running anything: the compose-spec schema,
`docker-compose config` (cross references, interpolation), the missing-secret message, hadolint."""

from __future__ import annotations

import os

import pytest

from tests.deploy.tools import ROOT, run, tool

SECRETS = {"DB_PASSWORD": "p" * 40, "JWT_SECRET": "j" * 40, "BADGE_SECRET": "b" * 40}
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.dev.yml", "deploy/compose.test.yml")


def _compose(*args: str, env: dict[str, str]) -> object:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return run(tool("docker-compose"), *args, env={**clean, **env}, check=False)


def test_compose_files_match_the_compose_spec() -> None:
    run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *COMPOSE_FILES)


@pytest.mark.parametrize(
    "files",
    [("docker-compose.yml",), ("docker-compose.yml", "docker-compose.dev.yml")],
    ids=["base", "with-dev-override"],
)
def test_docker_compose_config_accepts_the_files(files: tuple[str, ...]) -> None:
    args = [a for f in files for a in ("-f", f)]
    result = _compose(*args, "config", "-q", env=SECRETS)
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_a_missing_secret_stops_compose_with_its_name(missing: str) -> None:
    env = {k: v for k, v in SECRETS.items() if k != missing}
    result = _compose("-f", "docker-compose.yml", "config", "-q", env=env)
    assert result.returncode != 0  # type: ignore[attr-defined]
    assert f"{missing} is not set" in result.stderr  # type: ignore[attr-defined]


def test_env_example_lists_every_required_secret_without_a_value() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert values == dict.fromkeys(SECRETS, "")


def test_dockerfiles_are_hadolint_clean() -> None:
    run(tool("hadolint"), "Dockerfile", "Dockerfile.biometric", "frontend/Dockerfile")
