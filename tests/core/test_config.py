from __future__ import annotations

from pathlib import Path

import pytest

from tapwork.config import InsecureSettings, Settings

STRONG = "s" * 40


def test_production_refuses_missing_jwt_secret() -> None:
    with pytest.raises(InsecureSettings, match="JWT_SECRET"):
        Settings(TAPWORK_ENV="production", badge_secret=STRONG)


def test_production_refuses_placeholder_secret() -> None:
    with pytest.raises(InsecureSettings, match="JWT_SECRET is a placeholder"):
        Settings(TAPWORK_ENV="production", jwt_secret="changeme", badge_secret=STRONG)


def test_production_refuses_short_badge_secret() -> None:
    with pytest.raises(InsecureSettings, match="BADGE_SECRET is too short"):
        Settings(TAPWORK_ENV="production", jwt_secret=STRONG, badge_secret="short")


def test_secret_read_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "jwt"
    secret_file.write_text("f" * 48 + "\n")
    monkeypatch.setenv("JWT_SECRET_FILE", str(secret_file))
    settings = Settings(TAPWORK_ENV="production", badge_secret=STRONG)
    assert settings.jwt_secret.get_secret_value() == "f" * 48


def test_seed_database_url_gets_the_psycopg_driver() -> None:
    settings = Settings(database_url="postgresql://tapwork_user:pw@postgres:5432/tapwork")
    assert settings.database_url == "postgresql+psycopg://tapwork_user:pw@postgres:5432/tapwork"


def test_cors_origins_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
