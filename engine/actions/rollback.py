"""``mlready rollback``: return a Deployment to its previous ReplicaSet's pod template, as
``kubectl rollout undo`` does, and wait for that rollout."""

from __future__ import annotations

from typing import Any

from mlready.engine.actions.deploy import (
    FIELD_MANAGER,
    REVISION,
    DeployError,
    RolloutStatus,
    api_client,
    kube_call,
    wait_rollout,
)


def previous_replica_set(replica_sets: list[Any], current_revision: int) -> tuple[int, Any]:
    """The newest ReplicaSet older than ``current_revision``: where `kubectl rollout undo` goes."""
    older = []
    for rs in replica_sets:
        rev = int((rs.metadata.annotations or {}).get(REVISION, "0"))
        if 0 < rev < current_revision:
            older.append((rev, rs))
    if not older:
        raise DeployError(f"no earlier revision to roll back to (current revision {current_revision})")
    return max(older, key=lambda pair: pair[0])


def undo_patch(template: dict[str, Any]) -> list[dict[str, Any]]:
    """A JSON patch replacing the pod template (as kubectl does), without the ReplicaSet's hash label."""
    template = {**template, "metadata": dict(template.get("metadata") or {})}
    labels = dict(template["metadata"].get("labels") or {})
    labels.pop("pod-template-hash", None)
    template["metadata"]["labels"] = labels
    return [{"op": "replace", "path": "/spec/template", "value": template}]


def rollback(name: str, namespace: str, *, context: str | None = None, wait: bool = True,
             timeout: float = 600.0) -> RolloutStatus:
    from kubernetes import client

    api = api_client(context)
    apps = client.AppsV1Api(api)
    dep = kube_call(f"reading deployment {name}", apps.read_namespaced_deployment, name, namespace)
    current = int((dep.metadata.annotations or {}).get(REVISION, "0"))
    selector = ",".join(f"{k}={v}" for k, v in sorted(dep.spec.selector.match_labels.items()))
    sets = kube_call("listing replica sets", apps.list_namespaced_replica_set, namespace, label_selector=selector)
    owned = [rs for rs in sets.items if any(o.uid == dep.metadata.uid for o in rs.metadata.owner_references or [])]
    rev, rs = previous_replica_set(owned, current)
    patch = undo_patch(api.sanitize_for_serialization(rs.spec.template))
    kube_call(f"rolling {name} back to revision {rev}", apps.patch_namespaced_deployment, name, namespace, patch,
          field_manager=FIELD_MANAGER)
    if not wait:
        return RolloutStatus(name, namespace, False, f"rolling back to revision {rev}", str(rev))
    return wait_rollout(api, name, namespace, timeout)
