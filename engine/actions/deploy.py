"""``mlready deploy``: apply the bundle with the ``kubernetes`` Python client (rollback.py undoes a rollout).

- :func:`render` turns ``build/k8s/overlays/<env>`` into objects with ``kubectl kustomize`` (the same
  renderer users run by hand).
- :func:`apply_plan` orders them (ServiceAccount and ConfigMap before the Deployment that mounts them,
  custom resources last) and :func:`deploy` server-side applies each one with field manager ``mlready``
  (``dry_run=True`` sends ``dryRun=All``: the API server validates and admits, nothing is stored), then
  waits for every Deployment's rollout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from mlready.engine.errors import StepError, UsageError

FIELD_MANAGER = "mlready"
REVISION = "deployment.kubernetes.io/revision"
ORDER = ["Namespace", "ServiceAccount", "ConfigMap", "Secret", "Service", "Deployment",
         "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"]  # anything else goes last


class DeployError(StepError):
    """The cluster refused or did not converge."""


@dataclass
class Applied:
    kind: str
    name: str
    namespace: str | None
    dry_run: bool


@dataclass
class RolloutStatus:
    name: str
    namespace: str
    ready: bool
    message: str
    revision: str | None = None


@dataclass
class DeployResult:
    env: str
    applied: list[Applied] = field(default_factory=list)
    rollouts: list[RolloutStatus] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)  # "namespace/name" of stale Deployments deleted


def built_env(build_dir: Path) -> str:
    """The environment the build was made for (``env=...``), from build/manifest.json; dev by default."""
    from mlready.engine.manifest import FILENAME, Manifest

    if (build_dir / FILENAME).is_file():
        env = Manifest.load(build_dir / FILENAME).spec.choices.get("env")
        if isinstance(env, str):
            return env
    return "dev"


def stale_deployments(existing: list[Any], objects: list[dict[str, Any]]) -> list[Any]:
    """Deployments of this app (same name/instance labels, managed by mlready) that the bundle no longer has,
    e.g. ``<name>-canary`` after a canary is promoted by switching back to a rolling rollout."""
    wanted = {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects if o["kind"] == "Deployment"}
    apps = {(o["metadata"]["labels"].get("app.kubernetes.io/name"), o["metadata"]["labels"].get("app.kubernetes.io/instance"))
            for o in objects if o["kind"] == "Deployment"}
    out = []
    for dep in existing:
        labels = dep.metadata.labels or {}
        app = (labels.get("app.kubernetes.io/name"), labels.get("app.kubernetes.io/instance"))
        if labels.get("app.kubernetes.io/managed-by") != "mlready" or app not in apps:
            continue
        if (dep.metadata.namespace, dep.metadata.name) not in wanted:
            out.append(dep)
    return out


def kubectl() -> str:
    exe = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not exe:
        raise UsageError("kubectl is needed to render the kustomize overlay (set KUBECTL or put it on PATH)")
    return exe


def overlay_dir(build_dir: Path, env: str) -> Path:
    path = Path(build_dir) / "k8s" / "overlays" / env
    if not (path / "kustomization.yaml").is_file():
        raise UsageError(f"{path} has no kustomization.yaml: run `mlready build +target=k8s` first")
    return path


def render(build_dir: Path, env: str) -> list[dict[str, Any]]:
    path = overlay_dir(build_dir, env)
    proc = subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise DeployError(f"kubectl kustomize {path} failed", details=proc.stderr.strip())
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def apply_plan(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects in apply order (stable within a kind, so the order is deterministic)."""
    def rank(obj: dict[str, Any]) -> tuple[int, str, str]:
        kind = obj["kind"]
        return (ORDER.index(kind) if kind in ORDER else len(ORDER), kind, obj["metadata"]["name"])

    return sorted(objects, key=rank)


def api_client(context: str | None = None) -> Any:
    """An ApiClient for the kube context (in-cluster config when there is no kubeconfig)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    # KUBECONFIG is read now (the client reads it once, at import)
    try:
        return config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=os.environ.get("KUBECONFIG") or None, context=context)
    except (ConfigException, FileNotFoundError) as exc:
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            return client.ApiClient()
        except ConfigException:
            raise UsageError(f"no usable kube context: {exc}") from None


def kube_call(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        raise DeployError(f"{what}: the API server answered {exc.status} {exc.reason}",
                          details=str(exc.body or "")) from None
    except (HTTPError, OSError) as exc:
        raise DeployError(f"{what}: the cluster is unreachable ({type(exc).__name__}: {exc})") from None


def deploy(build_dir: Path, env: str, *, context: str | None = None, dry_run: bool = False, wait: bool = True,
           timeout: float = 600.0, prune: bool = True) -> DeployResult:
    objects = apply_plan(render(build_dir, env))
    api = api_client(context)
    from kubernetes.dynamic import DynamicClient

    dyn = kube_call("discovering the API", DynamicClient, api)
    result = DeployResult(env)
    for obj in objects:
        meta = obj["metadata"]
        label = f"{obj['kind']}/{meta['name']}"
        resource = kube_call(f"looking up {obj['apiVersion']} {obj['kind']}", dyn.resources.get,
                         api_version=obj["apiVersion"], kind=obj["kind"])
        kube_call(f"applying {label}", dyn.server_side_apply, resource, body=obj, name=meta["name"],
              namespace=meta.get("namespace"), field_manager=FIELD_MANAGER, force_conflicts=True,
              dry_run="All" if dry_run else None)
        result.applied.append(Applied(obj["kind"], meta["name"], meta.get("namespace"), dry_run))
    if prune:
        _prune(api, objects, result, dry_run)
    if wait and not dry_run:
        for obj in objects:
            if obj["kind"] == "Deployment":
                result.rollouts.append(wait_rollout(api, obj["metadata"]["name"], obj["metadata"]["namespace"],
                                                    timeout))
    return result


def _prune(api: Any, objects: list[dict[str, Any]], result: DeployResult, dry_run: bool) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(api)
    for namespace in sorted({o["metadata"]["namespace"] for o in objects if o["kind"] == "Deployment"}):
        name = next(o["metadata"]["labels"]["app.kubernetes.io/name"] for o in objects
                    if o["kind"] == "Deployment" and o["metadata"]["namespace"] == namespace)
        listed = kube_call("listing deployments", apps.list_namespaced_deployment, namespace,
                       label_selector=f"app.kubernetes.io/name={name},app.kubernetes.io/managed-by=mlready")
        for dep in stale_deployments(listed.items, objects):
            kube_call(f"deleting stale deployment {dep.metadata.name}", apps.delete_namespaced_deployment,
                  dep.metadata.name, namespace, dry_run="All" if dry_run else None)
            result.pruned.append(f"{namespace}/{dep.metadata.name}")


def rollout_state(dep: Any) -> tuple[bool, str]:
    """(done, message) for a Deployment, with kubectl's `rollout status` rules."""
    spec, status = dep.spec, dep.status
    want = spec.replicas if spec.replicas is not None else 1
    for cond in status.conditions or []:
        if cond.type == "Progressing" and cond.reason == "ProgressDeadlineExceeded":
            raise DeployError(f"deployment {dep.metadata.name} exceeded its progress deadline: {cond.message}")
    if (status.observed_generation or 0) < dep.metadata.generation:
        return False, "waiting for the controller to observe the new spec"
    updated, available = status.updated_replicas or 0, status.available_replicas or 0
    total = status.replicas or 0
    if updated < want:
        return False, f"{updated} of {want} new replicas updated"
    if total > updated:
        return False, f"{total - updated} old replicas pending termination"
    if available < updated:
        return False, f"{available} of {updated} updated replicas available"
    return True, f"successfully rolled out ({available} available)"


def wait_rollout(api: Any, name: str, namespace: str, timeout: float = 600.0) -> RolloutStatus:
    from kubernetes import client

    apps = client.AppsV1Api(api)
    deadline = time.monotonic() + timeout
    while True:
        dep = kube_call(f"reading deployment {name}", apps.read_namespaced_deployment, name, namespace)
        done, message = rollout_state(dep)
        revision = (dep.metadata.annotations or {}).get(REVISION)
        if done:
            return RolloutStatus(name, namespace, True, message, revision)
        if time.monotonic() > deadline:
            raise DeployError(f"deployment {namespace}/{name} not rolled out after {timeout:.0f}s: {message}")
        time.sleep(2)
