"""docs/configuration.md documents every setting: a new setting without its line fails here."""

from __future__ import annotations

from pathlib import Path

from tapwork.config import SECRET_FIELDS, Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _env_name(name: str) -> str:
    alias = Settings.model_fields[name].alias
    return (alias or name).upper()


def test_every_setting_is_documented_with_its_default() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in text.splitlines()
        if line.startswith("| `")
    }
    missing = [_env_name(n) for n in Settings.model_fields if _env_name(n) not in rows]
    assert missing == [], f"add these to {DOC.name}: {missing}"
    for name, field in Settings.model_fields.items():
        default = field.default
        if name in SECRET_FIELDS or isinstance(default, list):
            continue
        shown = str(default.value if hasattr(default, "value") else default).lower()
        expected = f"`{shown}`" if shown else "*(empty)*"
        assert expected in rows[_env_name(name)].lower(), f"{_env_name(name)} default {shown}"


def test_every_secret_file_variant_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert [f"{n.upper()}_FILE" for n in SECRET_FIELDS if f"{n.upper()}_FILE" not in text] == []
