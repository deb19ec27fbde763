"""Everything the deployment seed (docs/seed/deployment-architecture.md) writes is in the repo.

The seed's own YAML blocks are the expectation: each Kubernetes resource must be in the rendered
overlay with every field the seed gives (names, ports, replica counts, resources, annotations),
and the Compose file must contain the seed's services, names, ports, volumes and network. A
short, explained list of deliberate departures is taken out of the seed first.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from tests.deploy.tools import ROOT, find, render

SEED = ROOT / "docs" / "seed" / "deployment-architecture.md"


def seed_blocks() -> list[dict[str, Any]]:
    text = SEED.read_text()
    docs = []
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S):
        docs += [d for d in yaml.safe_load_all(block) if d]
    return docs


def seed_resources() -> list[dict[str, Any]]:
    return [d for d in seed_blocks() if "kind" in d]


def seed_compose() -> dict[str, Any]:
    (compose,) = [d for d in seed_blocks() if "services" in d]
    return compose


def _drop(doc: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        del node[int(last)]
    else:
        del node[last]


# (kind, name) -> paths taken out of the seed's resource, each for a reason given in the runbook.
DEPARTURES: dict[tuple[str, str], dict[str, str]] = {
    ("Deployment", "tapwork-api"): {
        # The seed's URL interpolates an undefined $(DB_USER) and puts the password in the env;
        # the URL is in the ConfigMap and libpq takes the password from PGPASSWORD.
        "spec.template.spec.containers.0.env": "DATABASE_URL from the ConfigMap, secrets as files",
        # Readiness asks /ready (database and schema), not /health; timing by a startup probe.
        "spec.template.spec.containers.0.readinessProbe": "readiness on /ready",
        "spec.template.spec.containers.0.livenessProbe.initialDelaySeconds": "startup probe",
    },
    ("StatefulSet", "postgres"): {
        # The password reaches PostgreSQL as a file (POSTGRES_PASSWORD_FILE), not an env value.
        "spec.template.spec.containers.0.env.2": "POSTGRES_PASSWORD_FILE",
    },
    ("ConfigMap", "tapwork-config"): {},
}
# Where each seed resource lives: the SMTP Service is development-only (Mailhog), monitoring and
# autoscaling are production's.
OVERLAY_OF = {"smtp-service": "dev", "tapwork-config": "dev"}


def _contains(actual: Any, expected: Any, where: str = "") -> list[str]:
    """What of `expected` is missing from `actual`: every key of a dict, every item of a list
    somewhere in the actual list."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected a mapping, found {actual!r}"]
        missing: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                missing.append(f"{where}.{key}: missing")
            else:
                missing += _contains(actual[key], value, f"{where}.{key}")
        return missing
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, found {actual!r}"]
        missing = []
        for i, item in enumerate(expected):
            # Report the closest candidate's differences, so a failure says what is wrong.
            tries = [_contains(candidate, item, f"{where}[{i}]") for candidate in actual]
            if not tries:
                missing.append(f"{where}[{i}]: empty list")
            elif all(tries):
                missing += sorted(tries, key=len)[0]
        return missing
    return [] if str(actual) == str(expected) else [f"{where}: {actual!r} != {expected!r}"]


def _seed_ids() -> list[str]:
    return [f"{d['kind']}/{d['metadata']['name']}" for d in seed_resources()]


@pytest.mark.parametrize("resource", seed_resources(), ids=_seed_ids())
def test_kubernetes_resource_of_the_seed_is_present(resource: dict[str, Any]) -> None:
    kind, name = resource["kind"], resource["metadata"]["name"]
    expected = copy.deepcopy(resource)
    for path in DEPARTURES.get((kind, name), {}):
        _drop(expected, path)
    if kind == "ServiceMonitor":
        # The seed writes `apiVersion: v1`; the CRD's real group is monitoring.coreos.com.
        assert expected.pop("apiVersion") == "v1"
        expected["apiVersion"] = "monitoring.coreos.com/v1"
    if kind == "Secret":
        # A template with empty values: no secret is committed.
        template = yaml.safe_load((ROOT / "k8s" / "base" / "secrets.template.yaml").read_text())
        assert set(resource["data"]) <= set(template["stringData"])
        assert not any(template["stringData"].values()), "a secret value is committed"
        assert template["type"] == resource["type"]
        expected.pop("data")
        assert _contains(template, expected) == []
        return
    overlay = OVERLAY_OF.get(name, "prod")
    # Generated names carry a hash of their content (tapwork-config-<hash>): compare the base.
    rendered = yaml.safe_dump(find(render(overlay), kind, name))
    actual = yaml.safe_load(re.sub(r"\btapwork-config-[a-z0-9]{10}\b", "tapwork-config", rendered))
    assert _contains(actual, expected, f"{overlay}:{kind}/{name}") == []


def test_the_seed_deployment_env_names_still_reach_the_api() -> None:
    # What the departure above replaces: the password from tapwork-secrets/db-password, the JWT
    # secret from tapwork-secrets/jwt-secret (as a file), the seed's ConfigMap as envFrom.
    api = find(render("prod"), "Deployment", "tapwork-api")["spec"]["template"]["spec"]
    (container,) = api["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "tapwork-secrets",
        "key": "db-password",
    }
    secret_volume = next(v for v in api["volumes"] if "secret" in v)["secret"]
    assert secret_volume["secretName"] == "tapwork-secrets"
    assert {"jwt-secret", "smtp-password"} <= {i["key"] for i in secret_volume["items"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    assert {"name": "http", "containerPort": 8000} in container["ports"]


def test_kubectl_apply_list_of_the_seed_maps_onto_files() -> None:
    # The seed's `kubectl apply -f k8s/<file>.yaml` names: each file exists in the base (the
    # runbook explains why `kubectl apply -k` of an overlay replaces the list).
    text = SEED.read_text()
    for name in re.findall(r"kubectl apply -f k8s/([\w-]+)\.yaml", text):
        candidates = {
            "secrets": "secrets.template.yaml",
            "configmap": "kustomization.yaml",  # a generated ConfigMap (hashed name)
        }
        assert (ROOT / "k8s" / "base" / candidates.get(name, f"{name}.yaml")).exists(), name


COMPOSE_DEPARTURES = {
    # One image for API, worker and migrate, built from the repository root (no ./backend).
    "api": ["build", "volumes.0", "command", "environment"],
    # The seed's dev server (npm start, source mounts) is in docker-compose.dev.yml.
    "scanner": ["build", "volumes", "command", "environment"],
    # Host ports of postgres are loopback-only and movable; the container ports are the seed's.
    "postgres": ["ports", "environment.POSTGRES_PASSWORD"],
}


def test_compose_file_has_the_seed_services_names_ports_volumes_and_network() -> None:
    seed = seed_compose()
    actual = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in seed["services"].items():
        expected = copy.deepcopy(service)
        for path in COMPOSE_DEPARTURES.get(name, []):
            _drop(expected, path)
        got = copy.deepcopy(actual["services"][name])
        # Ports: the container side is the seed's; the host side may be set by HOST_*_PORT.
        for port in expected.pop("ports", []):
            container = port.split("#")[0].strip().rsplit(":", 1)[-1]
            assert any(str(p).rsplit(":", 1)[-1] == container for p in got["ports"]), (name, port)
        assert _contains(got, expected, f"compose:{name}") == []
    assert set(seed["volumes"]) <= set(actual["volumes"])
    assert _contains(actual["networks"], seed["networks"]) == []
    api = actual["services"]["api"]
    assert {"DATABASE_URL", "JWT_SECRET", "SMTP_HOST", "SMTP_PORT"} <= set(api["environment"])
    assert "api_logs:/app/logs" in api["volumes"]
    assert actual["services"]["api"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert actual["services"]["api"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert set(actual["services"]) == set(seed["services"]) | {"migrate", "worker"}
