"""The KServe InferenceService: built for real, validated against the CRD schema kept as data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlready.engine import api
from mlready.engine.errors import SpecError
from mlready.engine.manifest import Manifest
from mlready.generators.kserve import derive_schema, schema

from tests.k8s.helpers import DIGEST, copy_quickstart, load

pytestmark = pytest.mark.slow
BOTH = "[k8s,kserve]"


def isvc(out: Path) -> dict:
    return load(out / "kserve/inferenceservice.yaml")


def test_default_is_a_standard_mode_predictor_running_the_image(bundles):
    out = bundles.build(targets=BOTH)
    manifest = Manifest.load(out)
    assert {a.path: a.kind for a in manifest.artifacts}["kserve/inferenceservice.yaml"] == \
        "kserve-inferenceservice"
    doc = isvc(out)
    assert schema.problems(doc) == []
    assert doc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert doc["metadata"]["namespace"] == "quickstart-dev"
    p = doc["spec"]["predictor"]
    assert (p["minReplicas"], p["maxReplicas"], p["scaleMetric"], p["scaleTarget"]) == (1, 3, "cpu", 70)
    assert "canaryTrafficPercent" not in p
    (c,) = p["containers"]
    assert c["name"] == "kserve-container" and c["image"] == "quickstart:1.0.0"
    assert c["ports"] == [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert p["securityContext"]["runAsNonRoot"] is True


def test_mode_annotation_follows_the_kserve_version_and_canary_sets_the_share(bundles):
    out = bundles.build("target.kserve.version='0.15'", targets=BOTH)
    assert isvc(out)["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    out = bundles.build("target.kserve.mode=knative", "target.k8s.rollout.strategy=canary",
                        "target.k8s.rollout.canary.weight=20", "target.k8s.rollout.canary.stable_version=0.9.0",
                        "target.kserve.min_replicas=0", "target.kserve.scale_metric=concurrency",
                        digest=DIGEST, targets=BOTH)
    doc = isvc(out)
    assert schema.problems(doc) == []
    assert doc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    assert "serving.kserve.io/autoscalerClass" not in doc["metadata"]["annotations"]
    p = doc["spec"]["predictor"]
    assert p["canaryTrafficPercent"] == 20 and p["minReplicas"] == 0
    assert p["containers"][0]["image"] == f"quickstart@{DIGEST}"
    out = bundles.build("target.kserve.mode=knative", "target.kserve.version='0.14.1'", targets="kserve")
    assert isvc(out)["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"


def test_the_schema_rejects_what_the_crd_rejects(bundles):
    doc = isvc(bundles.build(targets=BOTH))
    p = doc["spec"]["predictor"]
    bad = json.loads(json.dumps(doc))
    bad["spec"]["predictor"]["minReplica"] = 1
    assert any("minReplica" in e for e in schema.problems(bad))
    bad = json.loads(json.dumps(doc))
    bad["spec"]["predictor"]["scaleMetric"] = "gpu"
    assert [e for e in schema.problems(bad) if e.startswith("spec.predictor.scaleMetric")]
    bad = json.loads(json.dumps(doc))
    bad["spec"]["predictor"]["containers"][0]["securityContext"]["readOnlyRootFS"] = True
    assert [e for e in schema.problems(bad) if "readOnlyRootFS" in e]
    bad = json.loads(json.dumps(doc))
    del bad["spec"]["predictor"]["containers"][0]["name"]
    assert [e for e in schema.problems(bad) if e.startswith("spec.predictor.containers.0")]
    assert p["timeout"] == 60


def test_schema_data_is_what_the_derivation_writes():
    stored = json.loads((Path(derive_schema.__file__).with_name(derive_schema.OUT.name)).read_text())
    assert stored == derive_schema.derive()
    assert "KServe v0.16" in stored["$comment"] and "v1.29.0" in stored["$comment"]


def test_yamllint_default_config(bundles):
    out = bundles.build(targets=BOTH)
    exe = Path(sys.executable).with_name("yamllint")
    proc = subprocess.run([str(exe), "-d", "default", str(out / "kserve")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["target.kserve.min_replicas=5", "target.kserve.max_replicas=2"],
         "target.kserve.min_replicas: the minimum (5) is above the maximum (2)"),
        (["target.k8s.rollout.strategy=canary"], "target.kserve.mode: canaryTrafficPercent needs mode 'knative'"),
        (["target.kserve.version=0.15"], "target.kserve.version: write the version as a string"),
        (["target.kserve.min_replicas=0"], "target.kserve.min_replicas: scale-to-zero (0) needs mode 'knative'"),
        (["target.kserve.scale_metric=rps"], "target.kserve.scale_metric: 'rps' is a Knative metric"),
        (["target.kserve.mode=knative", "serving.autoscaling.via=keda"],
         "target.kserve.mode: serving.autoscaling.via keda is KServe's KEDA route, which only the standard mode"),
    ],
)
def test_spec_errors(tmp_path, overrides, expected):
    qs = copy_quickstart(tmp_path / "qs")
    with pytest.raises(SpecError) as info:
        api.build(qs, ["tracking.enabled=false", "+target=kserve", *overrides], run_hooks=False)
    found = [str(p) for p in info.value.problems]
    assert len(found) == 1 and expected in found[0], found


def test_keda_route_scales_the_predictor_on_the_servers_signal(bundles):
    """serving.autoscaling.via keda: autoscalerClass keda and predictor.autoScaling (KServe makes the
    ScaledObject); the strict autoScaling schema (from KServe v0.16's AutoScalingSpec) accepts it."""
    doc = isvc(bundles.build("serving.autoscaling.via=keda", "serving.autoscaling.metric=inflight", targets=BOTH))
    assert doc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    predictor = doc["spec"]["predictor"]
    assert "scaleMetric" not in predictor and "scaleTarget" not in predictor
    assert predictor["autoScaling"] == {"metrics": [{"type": "External", "external": {
        "metric": {"backend": "prometheus", "serverAddress": "http://prometheus-operated.monitoring.svc:9090",
                   "query": 'sum (mlready_inflight_requests{namespace="quickstart-dev", pod=~"quickstart-predictor-.*"})'},
        "target": {"type": "AverageValue", "averageValue": "4"}}}]}
    assert schema.problems(doc) == []
    bad = json.loads(json.dumps(doc))
    bad["spec"]["predictor"]["autoScaling"]["metrics"][0]["external"]["metric"]["backend"] = "prom"
    assert any("prom" in p for p in schema.problems(bad))
    cpu = isvc(bundles.build("serving.autoscaling.via=keda", targets=BOTH))["spec"]["predictor"]["autoScaling"]
    assert cpu == {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 70}}}]}
