"""Every overlay renders and validates offline: built-in kinds strictly against the Kubernetes
schemas of a named version, custom resources against the JSON schemas kept in k8s/schemas;
and the production rules the seed leaves out hold in every rendered workload."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tapwork.biometric.server import ServiceSettings
from tapwork.config import Settings
from tests.deploy.tools import (
    CRD_SCHEMAS,
    KUBERNETES_VERSION,
    OVERLAYS,
    SCHEMAS,
    find,
    pod_specs,
    render,
    render_text,
    run,
    tool,
)

# Every variable either settings class reads: cleared so the test machine's own do not leak in.
SETTING_ENV = {
    (field.alias or name).upper()
    for model in (Settings, ServiceSettings)
    for name, field in model.model_fields.items()
}


def _validate(path: Path) -> Any:
    return run(
        tool("kubernetes-validate"),
        "--strict",
        "--quiet",
        "--no-warn",
        "-k",
        KUBERNETES_VERSION,
        str(path),
        check=False,
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_strictly_against_kubernetes(overlay: str, tmp_path: Path) -> None:
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(render_text(overlay))
    result = _validate(rendered)
    assert result.returncode == 0, result.stdout + result.stderr


def test_strict_validation_rejects_a_misspelt_field(tmp_path: Path) -> None:
    # The control for the test above: a typo must fail, not pass as an unknown extra field.
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        render_text("prod").replace("readOnlyRootFilesystem:", "readOnlyRootFilesytem:")
    )
    result = _validate(broken)
    assert result.returncode != 0
    assert "readOnlyRootFilesytem" in result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_the_schemas_kept_in_the_repo(overlay: str, tmp_path: Path) -> None:
    by_kind: dict[str, list[str]] = {}
    for index, doc in enumerate(render(overlay)):
        group = doc["apiVersion"].rpartition("/")[0]
        if doc["kind"] not in CRD_SCHEMAS:
            # Everything else is a built-in kind, which kubernetes-validate checks.
            assert group in {"", "apps", "autoscaling", "batch", "policy"} or group.endswith(
                ".k8s.io"
            ), doc["kind"]
            continue
        path = tmp_path / f"{index}-{doc['kind']}-{doc['metadata']['name']}.json"
        path.write_text(json.dumps(doc))
        by_kind.setdefault(doc["kind"], []).append(str(path))
    for kind, paths in by_kind.items():
        schema = str(SCHEMAS / CRD_SCHEMAS[kind])
        result = run(tool("check-jsonschema"), "--schemafile", schema, *paths, check=False)
        assert result.returncode == 0, f"{kind}:\n{result.stdout}{result.stderr}"
    if overlay != "dev":  # dev runs without the Prometheus Operator
        assert {"ServiceMonitor", "PrometheusRule"} <= set(by_kind)
    if overlay == "prod-cnpg":
        assert {"Cluster", "Pooler", "ScheduledBackup"} <= set(by_kind)


@pytest.mark.parametrize(
    ("kind", "document"),
    [
        ("ServiceMonitor", {"spec": {"selector": {}, "endpoints": [{"prot": "metrics"}]}}),
        ("PrometheusRule", {"spec": {"groups": [{"name": "g", "rules": [{"alert": "A"}]}]}}),
        ("Pooler", {"spec": {"cluster": {"name": "c"}, "pgbouncer": {"poolMode": "statement"}}}),
        ("Cluster", {"spec": {"instances": 3, "storage": {"size": "1Gi"}, "replicas": 2}}),
    ],
)
def test_crd_schemas_reject_what_the_operator_would(kind: str, document: dict[str, Any]) -> None:
    group = "monitoring.coreos.com/v1" if kind in {"ServiceMonitor", "PrometheusRule"} else None
    doc = {
        "apiVersion": group or "postgresql.cnpg.io/v1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "tapwork"},
        **document,
    }
    # The same validator check-jsonschema runs, called in-process (one CLI start costs seconds).
    schema = json.loads((SCHEMAS / CRD_SCHEMAS[kind]).read_text())
    assert not jsonschema.Draft202012Validator(schema).is_valid(doc)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_meets_the_restricted_profile(overlay: str) -> None:
    for name, pod in pod_specs(render(overlay)):
        context = pod.get("securityContext", {})
        assert context.get("runAsNonRoot") is True, name
        assert context.get("seccompProfile") == {"type": "RuntimeDefault"}, name
        assert pod.get("automountServiceAccountToken") is False, name
        for container in pod["containers"] + pod.get("initContainers", []):
            security = container.get("securityContext", {})
            assert security.get("allowPrivilegeEscalation") is False, (name, container["name"])
            assert security.get("readOnlyRootFilesystem") is True, (name, container["name"])
            assert security.get("capabilities") == {"drop": ["ALL"]}, (name, container["name"])
            assert "limits" in container.get("resources", {}), (name, container["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_rolling_update_drops_no_request(overlay: str) -> None:
    docs = render(overlay)
    api = find(docs, "Deployment", "tapwork-api")
    pod = api["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    # The grace period covers the pause plus the drain (30 s: uvicorn's in-flight requests).
    assert pod["terminationGracePeriodSeconds"] > pause + 30
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert find(docs, "PodDisruptionBudget", "tapwork-api-pdb")["spec"]["maxUnavailable"] == 1
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} >= {
        "kubernetes.io/hostname"
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_reach_the_service_as_files_and_config_changes_roll_the_pods(
    overlay: str,
) -> None:
    docs = render(overlay)
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    # The generated name carries a content hash; every reference follows it.
    assert config["metadata"]["name"].startswith("tapwork-config-")
    for name, pod in pod_specs(docs):
        for container in pod["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            refs = [
                s["configMapRef"]["name"]
                for s in container.get("envFrom", [])
                if "configMapRef" in s
            ]
            assert all(ref == config["metadata"]["name"] for ref in refs), name
            if container.get("image", "").startswith("tapwork/api"):
                assert env["JWT_SECRET_FILE"]["value"].startswith("/run/secrets/"), name
                assert "JWT_SECRET" not in env, name
                assert "BADGE_SECRET" not in env, name
                mounts = {m["mountPath"] for m in container["volumeMounts"]}
                assert "/run/secrets/tapwork" in mounts, name


def test_migrations_run_once_per_release_never_in_the_replicas() -> None:
    docs = render("prod")
    job = find(docs, "Job", "tapwork-migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["tapwork", "migrate"]
    for name in ("tapwork-api", "tapwork-worker"):
        command = find(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        assert "migrate" not in command["command"]


def test_backups_run_daily_keep_n_days_and_upload_when_configured() -> None:
    docs = render("prod")
    cron = find(docs, "CronJob", "tapwork-backup")
    assert cron["spec"]["schedule"] == "0 2 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"][:4] == ["tapwork", "backup", "--output", "/backups"]
    assert container["command"][4:] == ["--keep-days", "$(BACKUP_KEEP_DAYS)"]
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    assert int(config["data"]["BACKUP_KEEP_DAYS"]) >= 7
    s3 = [s["secretRef"] for s in container["envFrom"] if "secretRef" in s]
    assert s3 == [{"name": "tapwork-backup-s3", "optional": True}]


def _allowed_from(docs: list[dict[str, Any]], app: str, port: int) -> list[dict[str, Any]]:
    """The `from` peers of every NetworkPolicy rule that admits traffic to `app` on `port`."""
    peers = []
    for doc in docs:
        if doc["kind"] != "NetworkPolicy":
            continue
        selector = doc["spec"]["podSelector"].get("matchLabels", {})
        if selector and selector.get("app") != app:
            continue
        for rule in doc["spec"].get("ingress", []):
            if any(p.get("port") == port for p in rule.get("ports", [{"port": port}])):
                peers += rule.get("from", [{"anyone": True}])
    return peers


@pytest.mark.parametrize("overlay", ["dev", "staging", "prod", "prod-biometric"])
def test_network_policies_isolate_the_database_and_expose_only_the_ingress(overlay: str) -> None:
    docs = render(overlay)
    deny = find(docs, "NetworkPolicy", "default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert _allowed_from(docs, "postgres", 5432) == [
        {"podSelector": {"matchLabels": {"tapwork.io/db-client": "true"}}}
    ]
    clients = {
        doc["metadata"]["name"]
        for doc in docs
        if doc["kind"] in {"Deployment", "Job", "CronJob", "StatefulSet"}
        and "tapwork.io/db-client"
        in yaml.safe_dump(doc.get("spec", {}).get("template", doc.get("spec", {})))
    }
    assert clients == {"tapwork-api", "tapwork-worker", "tapwork-migrate", "tapwork-backup"}
    ingress_only = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    assert _allowed_from(docs, "tapwork-api", 8000) == ingress_only
    assert _allowed_from(docs, "tapwork-scanner", 3000) == ingress_only


def test_environments_follow_the_seed() -> None:
    dev, staging, prod = render("dev"), render("staging"), render("prod")
    for name in ("tapwork-api", "tapwork-worker", "tapwork-scanner"):
        assert find(dev, "Deployment", name)["spec"]["replicas"] == 1
    assert find(staging, "Deployment", "tapwork-api")["spec"]["replicas"] == 2
    assert find(prod, "Deployment", "tapwork-api")["spec"]["replicas"] == 3
    # Mailhog only in dev; staging and prod use a relay over STARTTLS.
    assert find(dev, "Deployment", "mailhog")
    for docs in (staging, prod):
        assert not [d for d in docs if d["metadata"]["name"] in {"mailhog", "smtp-service"}]
        config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
        assert config["SMTP_STARTTLS"] == "true"
        assert config["SMTP_HOST"] != "smtp-service"
    # TLS in staging and prod, none in dev; autoscaling and ingress rate limits in prod only.
    assert "tls" not in find(dev, "Ingress", "tapwork-ingress")["spec"]
    assert find(staging, "Ingress", "tapwork-ingress")["spec"]["tls"]
    prod_ingress = find(prod, "Ingress", "tapwork-ingress")["metadata"]["annotations"]
    assert "nginx.ingress.kubernetes.io/limit-rps" in prod_ingress
    assert not [d for d in dev + staging if d["kind"] == "HorizontalPodAutoscaler"]
    assert find(prod, "HorizontalPodAutoscaler", "tapwork-api-hpa")
    assert find(dev, "ConfigMap", "tapwork-config")["data"]["LOG_LEVEL"] == "DEBUG"


def test_cloudnative_pg_option_replaces_the_statefulset_behind_a_transaction_pooler() -> None:
    docs = render("prod-cnpg")
    assert not [d for d in docs if d["kind"] == "StatefulSet"]
    cluster = find(docs, "Cluster", "tapwork-db")["spec"]
    assert cluster["instances"] >= 3
    assert cluster["backup"]["barmanObjectStore"]["wal"]  # WAL archiving: point-in-time recovery
    pooler = find(docs, "Pooler", "tapwork-db-pooler-rw")["spec"]
    assert pooler["pgbouncer"]["poolMode"] == "transaction"
    assert pooler["type"] == "rw"
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert "@tapwork-db-pooler-rw:5432/" in config["DATABASE_URL"]
    for _, pod in pod_specs(docs):
        for container in pod["containers"]:
            for env in container.get("env", []):
                if env["name"] == "PGPASSWORD":
                    assert env["valueFrom"]["secretKeyRef"]["name"] == "tapwork-db-app"


def test_biometric_component_is_opt_in_internal_and_reached_only_by_the_api() -> None:
    assert not [d for d in render("prod") if "biometric" in d["metadata"]["name"]]
    docs = render("prod-biometric")
    service = find(docs, "Deployment", "tapwork-biometric")
    assert service["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "tapwork/biometric:"
    )
    assert find(docs, "Service", "biometric-service")["spec"]["type"] == "ClusterIP"
    assert find(docs, "PodDisruptionBudget", "tapwork-biometric-pdb")
    # Only the API pods reach it; it reaches nothing but DNS; no ingress rule routes to it.
    assert _allowed_from(docs, "tapwork-biometric", 8100) == [
        {"podSelector": {"matchLabels": {"app": "tapwork-api"}}}
    ]
    policy = find(docs, "NetworkPolicy", "biometric-from-api")["spec"]
    assert [p["port"] for rule in policy["egress"] for p in rule["ports"]] == [53, 53]
    assert "biometric" not in yaml.safe_dump(find(docs, "Ingress", "tapwork-ingress"))
    api = find(docs, "Deployment", "tapwork-api")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in api["env"]}
    assert env["BIOMETRIC_ENABLED"] == "true"
    assert env["BIOMETRIC_URL"] == "http://biometric-service:8100"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_tapwork_container_starts_with_its_production_settings(
    overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each container's environment (ConfigMap + env + the secret files it mounts) passes the
    service's own production checks: a setting that demands a secret the pod does not mount
    (BIOMETRIC_ENABLED without BIOMETRIC_SECRET, say) would crash-loop it in the cluster."""
    docs = render(overlay)
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    checked = 0
    for name, pod in pod_specs(docs):
        mounted = {
            item["path"]
            for volume in pod.get("volumes", [])
            for item in volume.get("secret", {}).get("items", [])
        }
        for container in pod["containers"]:
            if not container.get("image", "").startswith(("tapwork/api", "tapwork/biometric")):
                continue
            env = dict(config) if container.get("envFrom") else {}
            env |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
            with monkeypatch.context() as patch:
                for key in [k for k in os.environ if k.endswith("_FILE") or k in SETTING_ENV]:
                    patch.delenv(key)
                for key, value in env.items():
                    if key.endswith("_FILE"):
                        secret = Path(value).name
                        assert secret in mounted, (name, key, "not mounted")
                        (tmp_path / secret).write_text(secrets.token_urlsafe(48))
                        value = str(tmp_path / secret)
                    patch.setenv(key, value)
                if container["image"].startswith("tapwork/biometric"):
                    ServiceSettings()
                else:
                    Settings()
            checked += 1
    assert checked >= 4
