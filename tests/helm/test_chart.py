"""The chart, rendered by a real Helm v4 engine, is the kustomize bundle: lint, render each values file,
compare object by object with ``kubectl kustomize`` of the matching overlay, and check what a user reads
(Chart.yaml, NOTES.txt) and that a rebuild writes the same bytes."""

from __future__ import annotations

import helm_python as helm
import pytest
import yaml
from mlready.engine import api

from tests.helm.helpers import (
    ENVS,
    HELM_LABEL,
    chart_dir,
    keyed,
    namespace,
    objects,
    overlay_objects,
    render,
    values_file,
    without_helm_labels,
)
from tests.k8s.helpers import (
    BASE,
    DIGEST,
    VARIANT_GATEWAY,
    VARIANT_INGRESS,
    VARIANT_KEDA_HTTP,
    VARIANT_MESH_SHADOW,
)

pytestmark = [pytest.mark.tools, pytest.mark.slow]
TARGETS = "[k8s,helm]"
VARIANTS = {
    "default": ((), None),
    "monitoring": (("+monitoring=prometheus",), None),  # PrometheusRule: alert annotations hold {{ $value }}
    "digest": ((), DIGEST),
    "canary": (("target.k8s.rollout.strategy=canary", "target.k8s.rollout.canary.stable_version=0.9.0",
                "target.k8s.rollout.canary.weight=30", "target.k8s.environments.dev.replicas=3"), DIGEST),
    "no-cpu-limit": (("target.k8s.environments.dev.resources.cpu_limit=null",
                      "target.k8s.environments.prod.autoscaling.enabled=false",
                      "target.k8s.environments.prod.replicas=4"), None),
    # issue 18 (the k8s bundle's variants): exposure, GPU, shadow, KEDA / custom-metric / HTTP autoscaling
    "gateway-shadow-keda-gpu": (VARIANT_GATEWAY, DIGEST),
    "ingress-istio-adapter": (VARIANT_INGRESS, None),
    "keda-http-scale-to-zero": (VARIANT_KEDA_HTTP, None),
    "mesh-shadow": (VARIANT_MESH_SHADOW, None),
    # issue 16: serving.capture's file sink claims a PVC and mounts it in the pod
    "capture-volume": (("serving.capture.enabled=true", "serving.capture.directory=/data/capture"), None),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request, charts):
    overrides, digest = VARIANTS[request.param]
    return charts.build(*overrides, digest=digest, targets=TARGETS)


def test_lint_is_clean_with_each_values_file(variant):
    chart = chart_dir(variant)
    for env in (None, *ENVS):
        report = helm.lint(chart, values_file(chart, env), strict=True, kube_version="v1.29.0")
        assert report["errors"] == [], (env, report)
        # only the informational "icon is recommended" (an icon URL would have to point off this machine)
        assert [m["error"] for m in report["messages"] if m["severity"] >= 2] == [], (env, report)


@pytest.mark.parametrize("env", [None, *ENVS])
def test_rendered_objects_equal_the_kustomize_overlay(variant, env):
    """values-<env>.yaml renders what `kubectl kustomize overlays/<env>` renders; values.yaml the base."""
    chart = chart_dir(variant)
    ns = namespace(variant, env)
    rendered = objects(render(chart, values_file(chart, env), ns))
    assert all(d["metadata"]["labels"][HELM_LABEL] == f"{chart.name}-1.0.0" for d in rendered)
    got, want = keyed(without_helm_labels(rendered)), keyed(overlay_objects(variant, env))
    assert sorted(got) == sorted(want)
    for key, obj in want.items():
        assert got[key] == obj, key


def test_canary_values_carry_both_tracks(charts):
    out = charts.build(*VARIANTS["canary"][0], digest=DIGEST, targets=TARGETS)
    chart = chart_dir(out)
    dev = values_file(chart, "dev")
    assert "image" not in dev  # the overlays write no images: for a canary, each Deployment names its own
    assert (dev["replicas"], dev["track_replicas"]) == (2, {"canary": 1})  # 30 % of 3 pods
    prod = values_file(chart, "prod")
    assert prod["replicas"] is None and prod["autoscaling"]["enabled"] is True
    docs = keyed(objects(render(chart, {**dev, "track_replicas": {"canary": 0}}, "ns")))
    assert docs["Deployment", "quickstart-canary"]["spec"]["replicas"] == 0  # 0 is a count, not "unset"


def test_a_long_chart_version_keeps_the_chart_label_valid(charts):
    version = "1.0.0-release.candidate.with.a.very.long.name+build.20261206"
    out = charts.build(f"target.helm.chart_version={version}", targets=TARGETS)
    docs = objects(render(chart_dir(out), None, "ns"))
    # cut to 63 characters, then trailing punctuation dropped: a label value ends alphanumeric
    label = "quickstart-1.0.0-release.candidate.with.a.very.long.name_build"
    assert {d["metadata"]["labels"][HELM_LABEL] for d in docs} == {label}


def test_chart_metadata_and_notes(charts, tmp_path):
    out = charts.build("project.version=2.1.0-rc.1", targets=TARGETS)
    chart = chart_dir(out)
    meta = yaml.safe_load((chart / "Chart.yaml").read_text().split("\n---\n", 1)[1])
    assert (meta["apiVersion"], meta["name"], meta["version"], meta["appVersion"]) == (
        "v2", "quickstart", "2.1.0-rc.1", "2.1.0-rc.1")
    archive = helm.package(chart, destination=tmp_path)  # `helm package`: what a chart repository serves
    assert archive.endswith("quickstart-2.1.0-rc.1.tgz")
    with helm.Chart.load(archive) as packaged:
        assert packaged.metadata["appVersion"] == "2.1.0-rc.1"
        assert packaged.schema is not None and packaged.schema["additionalProperties"] is False
    notes = render(chart, values_file(chart, "prod"), "ml-prod")[f"{chart.name}/templates/NOTES.txt"]
    assert "installed in namespace ml-prod (environment prod)" in notes
    assert "kubectl -n ml-prod port-forward service/quickstart 8080:8080 8081:8081" in notes
    assert "curl -s http://localhost:8080/v2/models/quickstart/infer" in notes
    body = yaml.safe_load(notes.split("-d '", 1)[1].split("'", 1)[0])
    assert body["inputs"][0]["shape"] == [1, 30] and len(body["inputs"][0]["data"]) == 30


def test_rebuild_writes_the_same_bytes(charts, tmp_path):
    first = chart_dir(charts.build(targets=TARGETS))
    again = tmp_path / "again"
    api.build(charts.project, [*BASE, f"+target={TARGETS}"], out=again, run_hooks=False)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) >= 12
    assert files == sorted(p.relative_to(chart_dir(again)) for p in chart_dir(again).rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (chart_dir(again) / f).read_bytes() for f in files)
    assert all((first / f).read_text().startswith("# Generated by mlready") for f in files
               if f.suffix == ".yaml")
    assert all("Generated by mlready" in (first / f).read_text().split("\n", 3)[1] for f in files
               if f.suffix in (".tpl", ".txt", ".json"))


def test_a_keda_autoscaler_follows_the_values_and_refuses_another_namespace(charts):
    """KEDA owns its HPA: no hpa.yaml; the environment's ScaledObject is rendered while autoscaling.enabled
    (else the replicas are), and its trigger's query names the namespace it was built for, so a render in
    another namespace fails instead of installing an autoscaler that watches nothing."""
    chart = chart_dir(charts.build(*VARIANT_MESH_SHADOW, targets=TARGETS))
    assert not (chart / "templates/hpa.yaml").exists()
    prod = values_file(chart, "prod")
    assert prod["autoscaling"]["enabled"] is True and prod["replicas"] is None
    docs = keyed(objects(render(chart, prod, "quickstart-prod")))
    assert 'namespace="quickstart-prod"' in docs["ScaledObject", "quickstart"]["spec"]["triggers"][0]["metadata"]["query"]
    assert "replicas" not in docs["Deployment", "quickstart"]["spec"]
    off = {**prod, "autoscaling": {**prod["autoscaling"], "enabled": False}, "replicas": 2}
    docs = keyed(objects(render(chart, off, "quickstart-prod")))
    assert ("ScaledObject", "quickstart") not in docs and docs["Deployment", "quickstart"]["spec"]["replicas"] == 2
    with pytest.raises(helm.HelmRenderError) as info:
        render(chart, prod, "elsewhere")
    assert "this object was built for namespace quickstart-prod, not elsewhere" in str(info.value)
