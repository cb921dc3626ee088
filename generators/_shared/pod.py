"""The model server's pod, as both the k8s Deployment and the KServe InferenceService run it.

- probes on named ports: startup (model load + warm-up budget) -> readiness (``/v2/health/ready``, takes the
  pod out of the Service while it cannot serve) and liveness (``/v2/health/live``, restarts a wedged process;
  deliberately not the readiness route, so a busy or loading model is never killed);
- a preStop pause so kube-proxy/ingress drop the endpoint before SIGTERM;
- non-root UID/GID >= 10000, read-only root filesystem, no capabilities, seccomp RuntimeDefault; ``/tmp`` is
  the only writable path (an emptyDir with a size limit).
"""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.k8s_context import CONFIG_DIR, BundleContext
from mlready.generators._shared.k8s_options import GpuSpec
from mlready.generators._shared.k8s_spec import ResourcesSpec

CONTAINER = "server"
LIVE_PATH = "/v2/health/live"
READY_PATH = "/v2/health/ready"


def resources(r: ResourcesSpec, gpu: GpuSpec | None = None) -> dict[str, Any]:
    """Requests and limits; with ``gpu`` (the GPU image) the device limit too (extended resources are
    never overcommitted: the request defaults to the limit, so only the limit is written)."""
    limits: dict[str, str] = {"memory": r.memory_limit, "ephemeral-storage": r.ephemeral_storage_limit}
    if r.cpu_limit is not None:
        limits = {"cpu": r.cpu_limit, **limits}
    if gpu is not None:
        limits[gpu.resource] = str(gpu.count)
    return {
        "requests": {"cpu": r.cpu, "memory": r.memory, "ephemeral-storage": r.ephemeral_storage},
        "limits": limits,
    }


def _probes(ctx: BundleContext) -> dict[str, Any]:
    p = ctx.cfg.probes
    startup_period = 5
    return {
        "startupProbe": {
            "httpGet": {"path": READY_PATH, "port": "http"},
            "periodSeconds": startup_period,
            "timeoutSeconds": p.timeout_seconds,
            "failureThreshold": max(1, -(-p.startup_seconds // startup_period)),
        },
        "readinessProbe": {
            "httpGet": {"path": READY_PATH, "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": p.timeout_seconds,
            "successThreshold": 1,
            "failureThreshold": p.readiness_failures,
        },
        "livenessProbe": {
            "httpGet": {"path": LIVE_PATH, "port": "http"},
            "periodSeconds": p.period_seconds,
            "timeoutSeconds": p.timeout_seconds,
            "failureThreshold": p.liveness_failures,
        },
    }


def container(ctx: BundleContext, image: str, r: ResourcesSpec) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": ctx.cfg.image_pull_policy,
        "ports": [{"name": n, "containerPort": port, "protocol": "TCP"} for n, port in ctx.ports.named()],
        "resources": resources(r, ctx.gpu),
        **_probes(ctx),
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(ctx.cfg.pre_stop_seconds)]}}},
        "securityContext": container_security_context(ctx),
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            *([{"name": CAPTURE_VOLUME, "mountPath": ctx.capture_dir}] if ctx.capture_dir else []),
        ],
    }
    if ctx.cfg.pre_stop_seconds == 0:
        del c["lifecycle"]
    return c


def container_security_context(ctx: BundleContext) -> dict[str, Any]:
    """Non-root UID/GID, read-only root filesystem, no privilege escalation, no capabilities, seccomp
    RuntimeDefault: every container running the image (the server, the batch scoring Job) gets this."""
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": ctx.uid,
        "runAsGroup": ctx.gid,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def cpu_limit_skip(r: ResourcesSpec) -> dict[str, str]:
    """checkov's skip annotation for a missing CPU limit (``cpu_limit: null``), with the spec's reason."""
    return {"checkov.io/skip2": f"CKV_K8S_11={r.cpu_limit_off_reason}"} if r.cpu_limit is None else {}


def pod_security_context(ctx: BundleContext) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": ctx.uid,
        "runAsGroup": ctx.gid,
        "fsGroup": ctx.gid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def tmp_volume(ctx: BundleContext) -> dict[str, Any]:
    """The only writable path: the root filesystem is read-only."""
    return {"name": "tmp", "emptyDir": {"sizeLimit": ctx.cfg.tmp_size}}


CAPTURE_VOLUME = "capture"


def capture_claim_name(ctx: BundleContext) -> str:
    return f"{ctx.name}-capture"


def capture_volumes(ctx: BundleContext) -> list[dict[str, Any]]:
    """The capture files' volume (``serving.capture`` with the file sink), or none."""
    if not ctx.capture_dir:
        return []
    return [{"name": CAPTURE_VOLUME, "persistentVolumeClaim": {"claimName": capture_claim_name(ctx)}}]


def capture_claim(ctx: BundleContext) -> dict[str, Any]:
    """The PersistentVolumeClaim the capture files live on: ReadWriteMany, since every replica (and a canary
    or shadow Deployment) writes there, each to its own files; sized for ``max_files`` full files plus a
    quarter (a file may end past its limit by one record; a directory is shared by the pods). The cluster's
    default storage class must offer ReadWriteMany (NFS, CephFS, EFS, Filestore, Azure Files ...)."""
    mib = -(-ctx.capture_bytes * 5 // 4 // (1024 * 1024))
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": ctx.meta(capture_claim_name(ctx)),
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": f"{mib}Mi"}}}}


def gpu_scheduling(ctx: BundleContext) -> dict[str, Any]:
    """Pod-spec fields that put a GPU pod on a GPU node: node selector, tolerations of the GPU taint and the
    NVIDIA runtime class, as ``target.k8s.gpu`` names them (nothing for the CPU image)."""
    gpu = ctx.gpu
    if gpu is None:
        return {}
    out: dict[str, Any] = {}
    if gpu.node_selector:
        out["nodeSelector"] = dict(sorted(gpu.node_selector.items()))
    if gpu.tolerations:
        out["tolerations"] = [t.model_dump(exclude_none=True) for t in gpu.tolerations]
    if gpu.runtime_class_name:
        out["runtimeClassName"] = gpu.runtime_class_name
    return out
