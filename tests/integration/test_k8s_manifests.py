"""The Kubernetes manifests (infra/k8s) render with kustomize, every resource validates
against the Kubernetes schemas, and what they configure is what the app accepts."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.settings import PREFIX, Environment, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "infra" / "k8s" / "overlays" / "example"
KUBERNETES = "1.30.0"  # the oldest release still supported upstream when this was written


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: `make kubectl` installs it"
    rendered = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def test_every_resource_validates_against_the_kubernetes_schemas(
    resources: list[dict[str, Any]],
) -> None:
    kinds = {r["kind"] for r in resources}
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Job",
        "ConfigMap",
        "Secret",
    } <= kinds
    for resource in resources:
        kubernetes_validate.validate(resource, KUBERNETES, strict=True)


def test_a_broken_resource_is_refused(resources: list[dict[str, Any]]) -> None:
    api = dict(by_kind(resources, "Deployment")["codeliver-api"])
    broken = {**api, "spec": {**api["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_the_api_the_worker_and_the_pooler_have_probes_resources_and_budgets(
    resources: list[dict[str, Any]],
) -> None:
    deployments = by_kind(resources, "Deployment")
    assert set(deployments) == {"codeliver-api", "codeliver-worker", "codeliver-pgbouncer"}
    budgets = by_kind(resources, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        assert deployment["metadata"]["namespace"] == "codeliver-example"
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert "livenessProbe" in container, name
        assert container["resources"]["requests"]["cpu"], name
        assert container["resources"]["limits"]["memory"], name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        labels = deployment["spec"]["selector"]["matchLabels"]
        assert budgets[name]["spec"]["selector"]["matchLabels"] == labels, name
    api = deployments["codeliver-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    worker = deployments["codeliver-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["livenessProbe"]["exec"]["command"] == ["codeliver", "worker", "--alive"]
    (hpa,) = by_kind(resources, "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "codeliver-api"
    assert hpa["spec"]["minReplicas"] == 3  # the overlay's patch
    images = {d["spec"]["template"]["spec"]["containers"][0]["image"] for d in deployments.values()}
    assert "registry.example.org/codeliver:2026.12.07" in images


def test_the_settings_they_give_are_settings_the_app_accepts_in_production(
    resources: list[dict[str, Any]],
) -> None:
    environ: dict[str, str] = {}
    for config in by_kind(resources, "ConfigMap").values():
        if config["metadata"]["name"].startswith("codeliver-config"):
            environ.update(config["data"])
    for secret in by_kind(resources, "Secret").values():
        if not secret["metadata"]["name"].startswith("codeliver-pgbouncer-auth"):
            environ.update(
                {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
            )
    ours = {k for k in environ if k.startswith(PREFIX)}
    assert ours == set(environ), set(environ) - ours
    unknown = {k for k in ours if k[len(PREFIX) :].lower() not in Settings.__struct_fields__}
    assert unknown == set()  # a misspelt setting would be silently ignored
    settings = load_settings(environ)  # production's checks pass: no SettingsError
    assert settings.env is Environment.PRODUCTION
    assert settings.dev_issuer is False
    assert settings.rate_limit_settle_s > 0  # replicas share one rate limit
