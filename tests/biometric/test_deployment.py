"""The face service's image and Kubernetes files agree with each other and with the code.

(Schema validation against the Kubernetes API runs with the rest of the deployment files.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from fastapi.routing import APIRoute
from typer.main import get_command

from tapwork.biometric.server import create_service_app
from tapwork.cli import app as cli
from tapwork.config import SECRET_FIELDS

REPO = Path(__file__).resolve().parents[2]
COMPONENT = REPO / "k8s" / "components" / "biometric"


def _load(name: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((COMPONENT / name).read_text()) if d]
    assert len(docs) == 1
    doc: dict[str, Any] = docs[0]
    return doc


def _container() -> dict[str, Any]:
    containers = _load("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def test_the_service_selects_the_pods_and_stays_internal() -> None:
    deployment = _load("deployment.yaml")
    service = _load("service.yaml")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    port_names = {p["name"]: p["containerPort"] for p in _container()["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in port_names
    assert port_names["http"] == 8100


def test_only_the_api_pods_may_call_it() -> None:
    policy = _load("networkpolicy.yaml")
    pod_labels = _load("deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    sources = [rule["from"] for rule in policy["spec"]["ingress"]]
    assert sources == [[{"podSelector": {"matchLabels": {"app": "tapwork-api"}}}]]


def test_probes_and_command_exist_in_the_code() -> None:
    container = _container()
    command = container["command"]
    assert command[:2] == ["tapwork", "biometric"]
    assert "biometric" in get_command(cli).commands  # type: ignore[attr-defined]
    routes = {r.path for r in create_service_app().routes if isinstance(r, APIRoute)}
    assert container["readinessProbe"]["httpGet"]["path"] in routes
    assert container["livenessProbe"]["httpGet"]["path"] in routes
    dockerfile = (REPO / "Dockerfile.biometric").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd is not None
    assert yaml.safe_load(cmd.group(1)) == command
    assert "--extra biometric" in dockerfile


def test_secrets_come_from_mounted_files_that_the_settings_read() -> None:
    container = _container()
    pod = _load("deployment.yaml")["spec"]["template"]["spec"]
    mounted = {
        f"{m['mountPath']}/{item['path']}"
        for m in container["volumeMounts"]
        for v in pod["volumes"]
        if v["name"] == m["name"] and "secret" in v
        for item in v["secret"]["items"]
    }
    env = {e["name"]: e.get("value") for e in container["env"]}
    files = {name: path for name, path in env.items() if name.endswith("_FILE")}
    assert set(files) == {
        "BIOMETRIC_KEY_FILE",
        "BIOMETRIC_PREVIOUS_KEYS_FILE",
        "BIOMETRIC_SECRET_FILE",
    }
    assert set(files.values()) <= mounted
    assert {name.removesuffix("_FILE").lower() for name in files} <= set(SECRET_FIELDS)
    assert not any(name in env for name in ("BIOMETRIC_KEY", "BIOMETRIC_SECRET"))
    assert env["TAPWORK_ENV"] == "production"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
