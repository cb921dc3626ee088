"""The Kubernetes batch-scoring objects: a CronJob (``target.batch.schedule``), a Job for a run now, and a
NetworkPolicy that cuts the scoring pods off the network (the model is in the image, the data on a volume).

The pod is the Deployment's pod where it can be: the same image (pinned by digest when ``mlready image``
recorded one), the same pod and container security contexts (non-root UID/GID, read-only root filesystem, no
capabilities, seccomp), the current environment's resources (``target.k8s.environments.<env>.resources``) and
GPU scheduling, no service-account token. It runs the image's ``score`` entrypoint (``facts.score_args``) over
the claims the input and output live on, mounted at ``/mnt/<claim>`` (the input's read-only when the output is
elsewhere); ``fsGroup`` makes them writable by the image's group. No probes: a Job is done when it exits.
"""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.facts import score_args
from mlready.generators._shared.k8s_context import BundleContext
from mlready.generators._shared.k8s_spec import ResourcesSpec
from mlready.generators._shared.pod import (
    container_security_context,
    cpu_limit_skip,
    gpu_scheduling,
    pod_security_context,
    resources,
)
from mlready.generators.batch.locations import MOUNT_ROOT, claim_path
from mlready.generators.batch.spec import BatchSpec

CONTAINER = "score"
COMPONENT = "batch-scoring"


def labels(ctx: BundleContext) -> dict[str, str]:
    """The app's labels with its own instance and component: the Deployment's Service, PDB and NetworkPolicy
    select ``name`` + ``instance``, so the scoring pods are never taken for server pods."""
    return {**ctx.labels, "app.kubernetes.io/instance": f"{ctx.name}-batch",
            "app.kubernetes.io/component": COMPONENT}


def selector(ctx: BundleContext) -> dict[str, str]:
    return {"app.kubernetes.io/name": ctx.name, "app.kubernetes.io/instance": f"{ctx.name}-batch"}


def _volumes(input_uri: str, output_uri: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str, str]:
    """Volumes, mounts and the in-pod input and output paths: one volume per claim."""
    (in_claim, in_path), (out_claim, out_path) = claim_path(input_uri), claim_path(output_uri)
    volumes, mounts = [], []
    for i, claim in enumerate(dict.fromkeys([in_claim, out_claim])):
        name = f"data-{i}"
        volumes.append({"name": name, "persistentVolumeClaim": {"claimName": claim, "readOnly": claim != out_claim}})
        mounts.append({"name": name, "mountPath": f"{MOUNT_ROOT}/{claim}", "readOnly": claim != out_claim})
    return volumes, mounts, in_path, out_path


def checkov_skips(image: str, r: ResourcesSpec) -> dict[str, str]:
    """The digest check (CKV_K8S_43) passes once the image is pinned by digest (``mlready image`` recorded one,
    or ``target.batch.image`` names one: there is no kustomize overlay here); the CPU limit skip as the
    Deployment's."""
    out = {} if "@sha256:" in image else {"checkov.io/skip1": "CKV_K8S_43=digest unknown: run mlready image"}
    return {**out, **cpu_limit_skip(r)}


def pod_template(ctx: BundleContext, spec: Any, cfg: BatchSpec, r: ResourcesSpec, input_uri: str,
                 output_uri: str, image: str) -> dict[str, Any]:
    volumes, mounts, in_path, out_path = _volumes(input_uri, output_uri)
    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": ctx.cfg.image_pull_policy,
        "args": score_args(spec, in_path, out_path, keep=cfg.keep, bad_rows=cfg.bad_rows),
        "env": [{"name": "HOME", "value": "/tmp"}],
        "resources": resources(r, ctx.gpu),
        "securityContext": container_security_context(ctx),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *mounts],
    }
    return {
        "metadata": {"labels": labels(ctx)},
        "spec": {
            "restartPolicy": "Never",  # the Job's backoffLimit retries in a new pod
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": pod_security_context(ctx),
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": cfg.k8s.tmp_size}}, *volumes],
            **gpu_scheduling(ctx),
        },
    }


def job_spec(cfg: BatchSpec, template: dict[str, Any]) -> dict[str, Any]:
    k = cfg.k8s
    out: dict[str, Any] = {"backoffLimit": k.backoff_limit, "activeDeadlineSeconds": k.active_deadline_seconds}
    if k.ttl_seconds_after_finished is not None:
        out["ttlSecondsAfterFinished"] = k.ttl_seconds_after_finished
    return {**out, "template": template}


def _meta(ctx: BundleContext, namespace: str, r: ResourcesSpec, name: str, template: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels(ctx)}
    skips = checkov_skips(template["spec"]["containers"][0]["image"], r)
    return {**meta, "annotations": skips} if skips else meta


def cron_job(ctx: BundleContext, cfg: BatchSpec, namespace: str, r: ResourcesSpec,
             template: dict[str, Any]) -> dict[str, Any]:
    """One run at a time (``Forbid``): a run still going when the next is due makes that one skip."""
    k = cfg.k8s
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(ctx, namespace, r, f"{ctx.name}-score", template),
        "spec": {
            "schedule": cfg.schedule,
            "timeZone": k.time_zone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": k.starting_deadline_seconds,
            "successfulJobsHistoryLimit": k.successful_jobs_history,
            "failedJobsHistoryLimit": k.failed_jobs_history,
            "jobTemplate": {"metadata": {"labels": labels(ctx)}, "spec": job_spec(cfg, template)},
        },
    }


def job(ctx: BundleContext, cfg: BatchSpec, namespace: str, r: ResourcesSpec,
        template: dict[str, Any]) -> dict[str, Any]:
    """A run now (``kubectl apply -f``; a finished Job is immutable: delete it to run again, or run the CronJob's
    template with ``kubectl create job --from=cronjob/<name>-score <new name>``)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(ctx, namespace, r, f"{ctx.name}-score", template),
        "spec": job_spec(cfg, template),
    }


def network_policy(ctx: BundleContext, namespace: str) -> dict[str, Any]:
    """No ingress, no egress: the scorer reads a mounted volume and needs no network, not even DNS."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{ctx.name}-batch", "namespace": namespace, "labels": labels(ctx)},
        "spec": {"podSelector": {"matchLabels": selector(ctx)}, "policyTypes": ["Ingress", "Egress"]},
    }
