"""serving.capture with the file sink: the capture files live on a volume that outlives the pod or container.
The k8s bundle claims a ReadWriteMany PVC (every replica and a shadow Deployment write there) mounted at
``serving.capture.directory``; the Helm chart renders the same objects; compose mounts a named volume; the image
makes the directory, owned by the server's user. Without capture (or with another sink) none of this."""

from __future__ import annotations

import json

import yaml

from tests.k8s.helpers import SHADOW, by_kind, load, render
from tests.support.k8s_checks import kubernetes_validate_failures

CAPTURE = ("serving.capture.enabled=true", "serving.capture.directory=/data/capture",
           "serving.capture.max_files=10", "serving.capture.max_file_bytes=8388608")


def _mounts(deployment: dict) -> tuple[list, list]:
    pod = deployment["spec"]["template"]["spec"]
    return pod["containers"][0]["volumeMounts"], pod["volumes"]


def test_k8s_bundle_claims_and_mounts_a_capture_volume(bundles):
    out = bundles.build(*CAPTURE, *SHADOW, targets="[k8s,compose,docker,helm]")
    pvc = load(out / "k8s/base/pvc-capture.yaml")
    assert pvc["kind"] == "PersistentVolumeClaim" and pvc["metadata"]["name"] == "quickstart-capture"
    assert pvc["spec"] == {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "100Mi"}}}
    assert "pvc-capture.yaml" in load(out / "k8s/base/kustomization.yaml")["resources"]
    docs = render(out / "k8s/overlays/prod")
    for name in ("quickstart", "quickstart-shadow"):  # the stable and the shadow pods write to the same claim
        mounts, volumes = _mounts(by_kind(docs, "Deployment", name))
        assert {"name": "capture", "mountPath": "/data/capture"} in mounts
        assert {"name": "capture", "persistentVolumeClaim": {"claimName": "quickstart-capture"}} in volumes
    assert by_kind(docs, "PersistentVolumeClaim")["metadata"]["namespace"] == "quickstart-prod"
    runtime = json_config(out)
    assert runtime["capture"]["directory"] == "/data/capture"  # the ConfigMap's config writes where it's mounted
    assert kubernetes_validate_failures([out / "k8s/base/pvc-capture.yaml", out / "k8s/base/deployment.yaml"]) == {}

    chart = out / "helm/quickstart/templates"  # the chart renders the same objects
    assert "claimName: quickstart-capture" in (chart / "deployment.yaml").read_text()
    assert "kind: PersistentVolumeClaim" in (chart / "pvc-capture.yaml").read_text()

    compose = yaml.safe_load((out / "compose/compose.yaml").read_text())
    assert compose["services"]["model"]["volumes"] == ["capture-data:/data/capture"]
    assert compose["volumes"]["capture-data"] == {}
    dockerfile = (out / "docker/Dockerfile").read_text()
    assert "RUN install -d -o 10001 -g 10001 -m 0750 /data/capture\nUSER 10001:10001\n" in dockerfile


def json_config(out):
    import json

    return json.loads((out / "runtime/config.json").read_text())


def test_no_volume_without_file_capture(bundles, default_out):
    out = bundles.build("serving.capture.enabled=true", "serving.capture.sink=stdout",
                        targets="[k8s,compose,docker]")
    for built in (default_out, out):
        assert not (built / "k8s/base/pvc-capture.yaml").exists()
        mounts, volumes = _mounts(load(built / "k8s/base/deployment.yaml"))
        assert "capture" not in {m["name"] for m in mounts} | {v["name"] for v in volumes}
    assert "volumes" not in yaml.safe_load((out / "compose/compose.yaml").read_text())["services"]["model"]
    assert "install -d" not in (out / "docker/Dockerfile").read_text()


def test_kserve_predictor_mounts_the_capture_claim(bundles):
    """The InferenceService's pod writes capture files where the k8s pods do: the same claim (in the
    InferenceService's namespace, written beside it) mounted at serving.capture.directory, which the image's baked
    config names; without file capture, neither."""
    from mlready.generators.kserve import schema

    out = bundles.build(*CAPTURE, targets="[kserve,docker]")
    isvc = load(out / "kserve/inferenceservice.yaml")
    assert schema.problems(isvc) == []  # the CRD's schema (strict: unknown fields rejected)
    predictor = isvc["spec"]["predictor"]
    assert {"name": "capture", "mountPath": "/data/capture"} in predictor["containers"][0]["volumeMounts"]
    assert {"name": "capture", "persistentVolumeClaim": {"claimName": "quickstart-capture"}} in predictor["volumes"]
    pvc = load(out / "kserve/pvc-capture.yaml")
    assert pvc["kind"] == "PersistentVolumeClaim" and pvc["metadata"]["name"] == "quickstart-capture"
    assert pvc["metadata"]["namespace"] == isvc["metadata"]["namespace"] == "quickstart-dev"
    assert pvc["spec"] == {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "100Mi"}}}
    assert kubernetes_validate_failures([out / "kserve/pvc-capture.yaml"]) == {}
    image_config = json.loads((out / "docker/runtime.json").read_text())
    assert image_config["capture"]["directory"] == "/data/capture"  # the server in the image writes there

    out = bundles.build("serving.capture.enabled=true", "serving.capture.sink=stdout", targets="kserve")
    assert not (out / "kserve/pvc-capture.yaml").exists()
    predictor = load(out / "kserve/inferenceservice.yaml")["spec"]["predictor"]
    assert [v["name"] for v in predictor["volumes"]] == ["tmp"]
    assert [m["name"] for m in predictor["containers"][0]["volumeMounts"]] == ["tmp"]
