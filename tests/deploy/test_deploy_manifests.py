"""deploy/: every object valid for the supported Kubernetes versions, every file applied or
documented as not, and the wiring between objects (selectors, ports, accounts, namespace)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from deploy_helpers import (
    CLUSTER_KINDS,
    DEPLOY,
    KUSTOMIZATION,
    SEPARATE,
    applied_files,
    every_manifest,
    find,
    manifests,
)
from gpuplane.cli.node import LogLevel
from gpuplane.live.permissions import NAMESPACE, SCHEDULER_LEASE, SERVICE_ACCOUNTS, Component
from gpuplane.placement import PROFILES

# The Kubernetes versions gpuplane supports: the three newest minor versions whose OpenAPI
# schemas kubernetes-validate bundles.
KUBE_VERSIONS = ("1.35", "1.36", "1.37")
# Files in deploy/ that `kubectl apply -k` must not apply, each named in kustomization.yaml.
NOT_APPLIED = {
    "prometheusrule.yaml",  # needs the Prometheus Operator's CRD
    "prometheus/rules.yaml",  # a plain Prometheus's rule file
    "prometheus/rules_test.yaml",  # promtool's tests of it
    "rbac-snapshot.yaml",  # the snapshot's read-only ClusterRole, applied where wanted
}
OBJECTS = manifests()
#: Validated too: the files applied on their own with `kubectl apply -f`.
EVERY = every_manifest()


def _name(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("obj", EVERY, ids=_name)
def test_every_object_is_valid_for_every_supported_version(
    obj: dict[str, Any], version: str
) -> None:
    # strict: a misspelt or misplaced field fails, as kubectl's server-side field validation does.
    kubernetes_validate.validate(obj, version, strict=True)


def test_the_validation_catches_a_misplaced_field() -> None:
    broken = find(manifests(), "Deployment", "gpuplane-scheduler")
    broken["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFilesystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSIONS[-1], strict=True)


def test_the_kustomization_applies_every_file_but_the_documented_ones() -> None:
    every = {p for p in DEPLOY.rglob("*") if p.is_file()}
    applied = applied_files()
    assert applied <= every, f"listed but missing: {applied - every}"
    left = {str(p.relative_to(DEPLOY)) for p in every - applied}
    assert left == NOT_APPLIED
    comments = KUSTOMIZATION.read_text()
    for name in ("prometheusrule.yaml", "prometheus/", *SEPARATE):
        assert name in comments, f"kustomization.yaml does not say why {name} is not applied"


def test_every_namespaced_object_is_in_gpuplane_system() -> None:
    assert find(OBJECTS, "Namespace", NAMESPACE)
    for obj in EVERY:
        if obj["kind"] not in CLUSTER_KINDS:
            assert obj["metadata"]["namespace"] == NAMESPACE, _name(obj)


def _pod_spec(kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = find(OBJECTS, kind, name)["spec"]["template"]["spec"]
    return spec


def _selects(selector: dict[str, str], kind: str, name: str) -> bool:
    labels = find(OBJECTS, kind, name)["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in selector.items())


def test_workloads_run_as_their_service_accounts() -> None:
    for kind, name, component in (
        ("Deployment", "gpuplane-scheduler", Component.SCHEDULER),
        ("DaemonSet", "gpuplane-node-agent", Component.NODE_AGENT),
    ):
        account = SERVICE_ACCOUNTS[component]
        assert _pod_spec(kind, name)["serviceAccountName"] == account
        assert find(OBJECTS, "ServiceAccount", account)
        workload = find(OBJECTS, kind, name)
        assert _selects(workload["spec"]["selector"]["matchLabels"], kind, name)


def test_scheduler_deployment() -> None:
    deployment = find(OBJECTS, "Deployment", "gpuplane-scheduler")
    assert deployment["spec"]["replicas"] == 2
    pod = _pod_spec("Deployment", "gpuplane-scheduler")
    (container,) = pod["containers"]
    args = container["args"]
    # The scheduler with the Kueue placement check in its process (gpuplane admission-check).
    assert args[0] == "admission-check"
    assert "--leader-elect" in args
    assert f"--leader-elect-lease={SCHEDULER_LEASE}" in args
    # The lease namespace comes from the downward API: the Role grants leases only there.
    assert "--leader-elect-namespace=$(POD_NAMESPACE)" in args
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    # Every $(VAR) in the args is defined, or Kubernetes passes it through literally.
    for arg in args:
        if "$(" in arg:
            assert arg.split("$(")[1].split(")")[0] in env, arg
    config = find(OBJECTS, "ConfigMap", "gpuplane-scheduler")["data"]
    for var in env.values():
        ref = var.get("valueFrom", {}).get("configMapKeyRef")
        if ref:
            assert ref["name"] == "gpuplane-scheduler" and ref["key"] in config
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert "--metrics-port=10259" in args and ports == {"metrics": 10259}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    spread = pod["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert _selects(spread["labelSelector"]["matchLabels"], "Deployment", "gpuplane-scheduler")
    budget = find(OBJECTS, "PodDisruptionBudget", "gpuplane-scheduler")["spec"]
    assert budget["minAvailable"] == 1
    assert _selects(budget["selector"]["matchLabels"], "Deployment", "gpuplane-scheduler")


@pytest.mark.parametrize(
    ("service", "kind", "workload", "port"),
    [
        ("gpuplane-scheduler-metrics", "Deployment", "gpuplane-scheduler", 10259),
        ("gpuplane-node-agent-metrics", "DaemonSet", "gpuplane-node-agent", 9400),
    ],
)
def test_metrics_services_reach_their_pods(
    service: str, kind: str, workload: str, port: int
) -> None:
    spec = find(OBJECTS, "Service", service)["spec"]
    assert _selects(spec["selector"], kind, workload)
    (container,) = _pod_spec(kind, workload)["containers"]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    (service_port,) = spec["ports"]
    assert service_port["port"] == port and named[service_port["targetPort"]] == port


def test_the_dashboard_config_map_holds_the_dashboard() -> None:
    config_map = find(OBJECTS, "ConfigMap", "gpuplane-grafana-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["data"] == {
        "gpuplane.json": (DEPLOY / "grafana" / "dashboard.json").read_text()
    }


def test_the_scheduler_config_names_a_policy_of_the_twin() -> None:
    config = find(OBJECTS, "ConfigMap", "gpuplane-scheduler")["data"]
    assert config["policy"] in PROFILES
    assert config["log-level"] in {level.value for level in LogLevel}
