"""`mlready deploy` / `mlready rollback`: everything up to the API call is tested here; the calls themselves
run against a real cluster only when one is reachable (skipped with the reason otherwise)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from kubernetes import client
from mlready.engine.actions import deploy as apply
from mlready.engine.actions import rollback
from mlready.engine.cli import main

from tests.k8s.helpers import render

pytestmark = pytest.mark.slow

CLOSED_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
  - name: nowhere
    cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
contexts:
  - name: nowhere
    context: {cluster: nowhere, user: nobody}
current-context: nowhere
users:
  - name: nobody
    user: {token: test-token-not-a-secret}
"""


def test_apply_order_puts_dependencies_first(bundles):
    out = bundles.build("+monitoring=prometheus", "env=prod")
    objs = apply.apply_plan(apply.render(out, "prod"))
    kinds = [o["kind"] for o in objs]
    assert kinds.index("ServiceAccount") < kinds.index("Deployment")
    assert kinds.index("ConfigMap") < kinds.index("Deployment")
    assert kinds.index("Deployment") < kinds.index("HorizontalPodAutoscaler")
    assert kinds[-2:] == ["PrometheusRule", "ServiceMonitor"]  # custom resources last
    assert objs == apply.apply_plan(list(reversed(objs)))  # deterministic
    assert {o["metadata"]["namespace"] for o in objs} == {"quickstart-prod"}
    assert render(out / "k8s/overlays/prod") == apply.render(out, "prod")
    assert apply.built_env(out) == "prod"


def test_deploy_without_a_build_is_a_usage_error(tmp_path, capsys):
    code = main(["deploy", "-C", str(tmp_path), "--env", "dev"])
    assert code == 2
    assert "run `mlready build +target=k8s` first" in capsys.readouterr().err


@pytest.fixture
def closed_cluster(tmp_path, monkeypatch):
    """A kube context whose API server address refuses connections (loopback, nothing listening)."""
    path = tmp_path / "kubeconfig"
    path.write_text(CLOSED_KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


def test_deploy_and_rollback_report_an_unreachable_cluster(default_out, closed_cluster, capsys):
    code = main(["deploy", "--out", str(default_out), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "error: discovering the API: the cluster is unreachable" in err and "127.0.0.1" in err
    code = main(["rollback", "quickstart", "-n", "quickstart-dev"])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: reading deployment quickstart: the cluster is unreachable" in err


def test_no_kube_context_is_a_usage_error(default_out, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main(["deploy", "--out", str(default_out)]) == 2
    assert "no usable kube context" in capsys.readouterr().err


def _deployment(replicas=3, generation=2, observed=2, updated=3, total=3, available=3, conditions=None):
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="quickstart", generation=generation,
                                     annotations={apply.REVISION: "4"}),
        spec=client.V1DeploymentSpec(replicas=replicas, selector=client.V1LabelSelector(),
                                     template=client.V1PodTemplateSpec()),
        status=client.V1DeploymentStatus(observed_generation=observed, updated_replicas=updated, replicas=total,
                                         available_replicas=available, conditions=conditions),
    )


@pytest.mark.parametrize(
    ("kwargs", "done", "message"),
    [
        ({}, True, "successfully rolled out (3 available)"),
        ({"observed": 1}, False, "waiting for the controller to observe the new spec"),
        ({"updated": 1}, False, "1 of 3 new replicas updated"),
        ({"total": 4}, False, "1 old replicas pending termination"),
        ({"available": 2}, False, "2 of 3 updated replicas available"),
    ],
)
def test_rollout_state_follows_kubectl_rollout_status(kwargs, done, message):
    assert apply.rollout_state(_deployment(**kwargs)) == (done, message)


def test_rollout_past_its_deadline_fails():
    stuck = client.V1DeploymentCondition(type="Progressing", status="False", reason="ProgressDeadlineExceeded",
                                         message="ReplicaSet quickstart-abc has timed out progressing.")
    with pytest.raises(apply.DeployError, match="exceeded its progress deadline"):
        apply.rollout_state(_deployment(updated=1, conditions=[stuck]))


def _replica_set(revision: int, image: str) -> client.V1ReplicaSet:
    return client.V1ReplicaSet(
        metadata=client.V1ObjectMeta(name=f"quickstart-{revision}", annotations={apply.REVISION: str(revision)}),
        spec=client.V1ReplicaSetSpec(
            selector=client.V1LabelSelector(match_labels={"app.kubernetes.io/name": "quickstart"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app.kubernetes.io/name": "quickstart",
                                                     "pod-template-hash": f"h{revision}"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="server", image=image)]),
            ),
        ),
    )


def test_rollback_targets_the_newest_older_revision():
    sets = [_replica_set(1, "quickstart:0.8.0"), _replica_set(3, "quickstart:0.9.0"),
            _replica_set(4, "quickstart:1.0.0")]
    rev, rs = rollback.previous_replica_set(sets, current_revision=4)
    assert rev == 3
    patch = rollback.undo_patch(client.ApiClient().sanitize_for_serialization(rs.spec.template))
    assert patch[0]["op"] == "replace" and patch[0]["path"] == "/spec/template"
    template = patch[0]["value"]
    assert template["spec"]["containers"][0]["image"] == "quickstart:0.9.0"
    assert template["metadata"]["labels"] == {"app.kubernetes.io/name": "quickstart"}
    with pytest.raises(apply.DeployError, match="no earlier revision"):
        rollback.previous_replica_set(sets[:1], current_revision=1)


def _reachable_cluster() -> str | None:
    """None when a cluster answers; else the reason to skip."""
    from kubernetes import config

    try:
        api = config.new_client_from_config(config_file=os.environ.get("KUBECONFIG") or None)
    except Exception as exc:  # noqa: BLE001 - any failure to load a context means: no cluster here
        return f"no kube context ({type(exc).__name__})"
    try:
        client.VersionApi(api).get_code(_request_timeout=3)
    except Exception as exc:  # noqa: BLE001
        return f"the current kube context's API server is unreachable ({type(exc).__name__})"
    return None


def test_server_side_dry_run_against_a_real_cluster(bundles):
    reason = _reachable_cluster()
    if reason:
        pytest.skip(f"needs a reachable Kubernetes cluster: {reason}")
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: run tools/install-system-deps.sh")
    out = bundles.build()
    result = apply.deploy(Path(out), "dev", dry_run=True)
    assert {a.kind for a in result.applied} >= {"Deployment", "Service", "ConfigMap"}
    assert all(a.dry_run for a in result.applied)
    assert json.dumps([a.name for a in result.applied])


def _live(doc: dict) -> client.V1Deployment:
    meta = doc["metadata"]
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=meta["name"], namespace=meta["namespace"], labels=meta["labels"]),
        spec=client.V1DeploymentSpec(selector=client.V1LabelSelector(), template=client.V1PodTemplateSpec()),
    )


def test_promoting_a_canary_prunes_only_this_apps_stale_deployment(bundles):
    canary = apply.render(bundles.build("target.k8s.rollout.strategy=canary",
                                        "target.k8s.rollout.canary.stable_version=0.9.0"), "dev")
    rolling = apply.render(bundles.build(), "dev")
    live = [_live(d) for d in canary if d["kind"] == "Deployment"]
    other = _live({"metadata": {"name": "other", "namespace": "quickstart-dev",
                                "labels": {"app.kubernetes.io/name": "other", "app.kubernetes.io/instance": "other",
                                           "app.kubernetes.io/managed-by": "mlready"}}})
    by_hand = _live({"metadata": {"name": "quickstart-debug", "namespace": "quickstart-dev",
                                  "labels": {"app.kubernetes.io/name": "quickstart",
                                             "app.kubernetes.io/instance": "quickstart"}}})
    stale = apply.stale_deployments([*live, other, by_hand], rolling)
    assert [d.metadata.name for d in stale] == ["quickstart-canary"]
    assert apply.stale_deployments(live, canary) == []
