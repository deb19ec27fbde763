"""The PrometheusRule's alerts pass promtool's checks and unit tests (alerts-test.yaml)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.deploy.tools import K8S, run, tool

MONITORING = K8S / "components" / "monitoring"


def _rules_dir(tmp_path: Path) -> Path:
    # promtool reads plain rule files: the PrometheusRule's spec is exactly one.
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    (tmp_path / "alerts.rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    shutil.copy(MONITORING / "alerts-test.yaml", tmp_path / "alerts-test.yaml")
    return tmp_path


def test_every_alert_has_a_unit_test_and_they_pass(tmp_path: Path) -> None:
    directory = _rules_dir(tmp_path)
    run(tool("promtool"), "check", "rules", "alerts.rules.yaml", cwd=directory)
    result = run(tool("promtool"), "test", "rules", "alerts-test.yaml", cwd=directory)
    assert "SUCCESS" in result.stdout
    rules = yaml.safe_load((directory / "alerts.rules.yaml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tests = yaml.safe_load((directory / "alerts-test.yaml").read_text())["tests"]
    tested = {a["alertname"] for t in tests for a in t.get("alert_rule_test", [])}
    assert alerts == tested
    # The seed's four kinds and the ones this system adds, each at least one alert.
    for needed in (
        "Restart",
        "ErrorRate",
        "Memory",
        "Database",
        "Scan",
        "Outbox",
        "Kiosk",
        "Backup",
    ):
        assert any(needed in name for name in alerts), needed


def test_a_broken_alert_fails_its_unit_test(tmp_path: Path) -> None:
    # The control: the tests above would catch a threshold changed by mistake.
    directory = _rules_dir(tmp_path)
    rules = (directory / "alerts.rules.yaml").read_text()
    (directory / "alerts.rules.yaml").write_text(rules.replace("> 900", "> 90000"))
    result = run(tool("promtool"), "test", "rules", "alerts-test.yaml", cwd=directory, check=False)
    assert result.returncode != 0
    assert "TapworkKioskOffline" in result.stdout + result.stderr
