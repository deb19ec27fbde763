"""Production refuses biometrics without real secrets, in the API and in the face service."""

from __future__ import annotations

from typing import Any

import pytest

from tapwork.biometric.server import ServiceSettings
from tapwork.config import InsecureSettings, Settings

STRONG = "x" * 40


def _api(**values: Any) -> Settings:
    return Settings(TAPWORK_ENV="production", jwt_secret="j" * 40, badge_secret="b" * 40, **values)


def test_the_api_needs_the_shared_secret_only_when_biometrics_are_on() -> None:
    assert _api().biometric_enabled is False  # off by default, nothing more to set
    with pytest.raises(InsecureSettings, match="BIOMETRIC_SECRET"):
        _api(biometric_enabled=True)
    with pytest.raises(InsecureSettings, match="BIOMETRIC_SECRET"):
        _api(biometric_enabled=True, biometric_secret="changeme")
    assert _api(biometric_enabled=True, biometric_secret=STRONG).biometric_enabled


def test_the_service_refuses_placeholder_or_short_keys_in_production() -> None:
    with pytest.raises(InsecureSettings, match="BIOMETRIC_KEY"):
        ServiceSettings(TAPWORK_ENV="production", biometric_secret=STRONG)
    with pytest.raises(InsecureSettings, match="BIOMETRIC_SECRET"):
        ServiceSettings(TAPWORK_ENV="production", biometric_key=STRONG, biometric_secret="short")
    ok = ServiceSettings(TAPWORK_ENV="production", biometric_key=STRONG, biometric_secret=STRONG)
    assert ok.biometric_key.get_secret_value() == STRONG


def test_secrets_can_come_from_files(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "key"
    key.write_text(STRONG + "\n")
    monkeypatch.setenv("BIOMETRIC_KEY_FILE", str(key))
    monkeypatch.setenv("BIOMETRIC_SECRET", STRONG)
    monkeypatch.setenv("TAPWORK_ENV", "production")
    assert ServiceSettings().biometric_key.get_secret_value() == STRONG
