"""What every manifest builder needs, computed once from the spec: names, labels, image, ports (the k8s
bundle and the KServe InferenceService build from the same view).

The serving facts (ports, drain time, replicas) are owned by the runtime generator's ``serving`` section;
the image repository, tag and UID/GID by the Docker target (``target.docker``). Both are read here and nowhere else, so the
builders only see this small frozen view.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from mlready.engine.plugin import Artifact, Step
from mlready.generators._shared.facts import Ports, docker_variant, image_ref, monitoring, ports
from mlready.generators._shared.k8s_options import GpuSpec, ServingAutoscalingSpec
from mlready.generators._shared.k8s_spec import K8sSpec
from mlready.generators.runtime.ids import STEP_ID as RUNTIME_STEP

TRACK_LABEL = "mlready.io/track"  # "stable" | "canary": matches the runtime's version labels
ENV_LABEL = "mlready.io/environment"
IMAGE_STATE = ".mlready/image.json"  # written by `mlready image`: {"name", "tag", "id", "digest"}
CONFIG_FILE = "runtime.json"  # the image's ENTRYPOINT reads /etc/mlready/runtime.json: the ConfigMap replaces it
CONFIG_DIR = "/etc/mlready"


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str
    digest: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def pinned(self) -> str:
        """``repository@digest`` when `mlready image` recorded the digest, else :attr:`ref`."""
        return f"{self.repository}@{self.digest}" if self.digest else self.ref


@dataclass(frozen=True)
class BundleContext:
    name: str
    namespace: str
    project_version: str
    model_name: str
    cfg: K8sSpec
    image: Image
    ports: Ports
    drain_seconds: float  # serving.shutdown_delay_seconds + serving.drain_seconds
    default_replicas: int  # serving.replicas: for environments that do not set their own
    uid: int
    gid: int
    monitoring: bool
    labels: dict[str, str] = field(default_factory=dict)
    gpu: GpuSpec | None = None  # target.k8s.gpu when the image is the GPU variant, else None
    autoscaling: ServingAutoscalingSpec = field(default_factory=ServingAutoscalingSpec)  # serving.autoscaling
    # serving.capture with the file sink: the directory the pods write capture files to (a PVC), and the most
    # bytes those files take (max_files x max_file_bytes); None when capture writes no files
    capture_dir: str | None = None
    capture_bytes: int = 0

    def selector(self, track: str = "stable") -> dict[str, str]:
        """Deployment selector: stable labels only (never the version, which changes every release)."""
        return {**self.service_selector(), TRACK_LABEL: track}

    def service_selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/instance": self.name}

    def meta(self, name: str | None = None, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name or self.name, "namespace": self.namespace, "labels": dict(self.labels)}
        out.update(extra)
        return out

    @property
    def grace_seconds(self) -> int:
        """Longer than preStop + the server's drain, with a margin for the process to exit."""
        return int(self.cfg.pre_stop_seconds + math.ceil(self.drain_seconds) + 10)


def _serving(spec: Any) -> tuple[Ports, float, int]:
    serving = spec.section("serving")
    # after SIGTERM the server keeps serving (not ready) for shutdown_delay_seconds, then drains
    return ports(spec), float(serving.drain_seconds + serving.shutdown_delay_seconds), serving.replicas


def image_digest(project_dir: Path) -> str | None:
    """The digest recorded by the last `mlready image`, when there is one."""
    path = Path(project_dir) / IMAGE_STATE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    digest = data.get("digest")
    # anything but a full sha256 digest (a hand-edited or truncated state file) is no digest: never written
    return digest if isinstance(digest, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", digest) else None


def monitoring_on(spec: Any, cfg: K8sSpec) -> bool:
    """The ServiceMonitor is written when monitoring is on, and for autoscaling on the server's own metrics
    (their queries select by the ``namespace``/``service``/``pod`` labels it gives the series)."""
    if cfg.service_monitor != "auto":
        return cfg.service_monitor == "on"
    return monitoring(spec).on or spec.section("serving").autoscaling.metric != "cpu"


def alert_rules_on(spec: Any, cfg: K8sSpec) -> bool:
    """The PrometheusRule: with monitoring on (or ``service_monitor: on``), not for a ServiceMonitor written
    only because autoscaling queries the server's metrics."""
    if cfg.service_monitor != "auto":
        return cfg.service_monitor == "on"
    return monitoring(spec).on


def bundle_inputs(spec: Any, project_dir: Path, gpu: bool = False) -> tuple[BundleContext, list[dict[str, Any]]]:
    """What a step rendering the bundle's objects builds from (the k8s bundle and the Helm chart call this one
    function): the view of ``target.k8s`` with the recorded image digest, and the PrometheusRule's alert
    groups (from the monitoring rules; empty when alerts are off)."""
    cfg = spec.section("target.k8s")
    ctx = bundle_context(spec, cfg, image_digest(project_dir), gpu=gpu)
    if not alert_rules_on(spec, cfg):
        return ctx, []
    from mlready.generators._shared.alerts import alert_rule_groups

    return ctx, alert_rule_groups(spec)


def bundle_context(spec: Any, cfg: K8sSpec, digest: str | None = None, gpu: bool = False) -> BundleContext:
    """``gpu``: the image is the GPU variant (``facts.docker_variant``, computed at plan time by the caller)."""
    name = cfg.name or spec.project.name
    ports, drain, replicas = _serving(spec)
    docker = spec.section("target.docker")
    repo, tag = image_ref(spec)  # what `mlready image` tags
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/version": spec.project.version,
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/part-of": spec.project.name,
        "app.kubernetes.io/managed-by": "mlready",
        **cfg.extra_labels,
    }
    return BundleContext(
        name=name,
        namespace=spec.project.name,
        project_version=spec.project.version,
        model_name=spec.model_name,
        cfg=cfg,
        image=Image(cfg.image or repo, tag, digest),
        ports=ports,
        drain_seconds=drain,
        default_replicas=replicas,
        uid=cfg.run_as_user or docker.uid,
        gid=cfg.run_as_group or docker.gid,
        monitoring=monitoring_on(spec, cfg),
        labels=labels,
        gpu=cfg.gpu if gpu else None,
        autoscaling=spec.section("serving").autoscaling,
        **_capture(spec.section("serving").capture),
    )


def _capture(capture: Any) -> dict[str, Any]:
    if not (capture.enabled and capture.sink == "file"):
        return {}
    return {"capture_dir": capture.directory, "capture_bytes": capture.max_files * capture.max_file_bytes}


def env_namespace(ctx: BundleContext, env: str, current_env: str, current_ns: str | None) -> str:
    if env == current_env and current_ns:
        return current_ns
    return ctx.cfg.environments.get(env).namespace or f"{ctx.name}-{env}"


#: what a step rendering the bundle's objects (the k8s bundle, the Helm chart) reads besides its own section
BUNDLE_READS = ("target.k8s", "env", "project", "model.name", "serving", "target.docker", "monitoring.prometheus",
                "monitoring.grafana", "data", "readiness.sample.gates",  # data, sample gates: the drift alert rules
                "readiness.gates")  # with the sample gates: the live accuracy alert rules


def bundle_step(spec: Any, step_id: str, body: Callable[..., list[Artifact]], description: str,
                **own: Any) -> Step:
    """A step rendering the bundle's objects (the k8s bundle, the Helm chart): it runs after the runtime config,
    reads :data:`BUNDLE_READS`, takes the recorded image as an input and runs ``body(ctx, gpu=...)``; ``own``:
    the generator's own entries of its config (before :func:`bundle_step_config`'s)."""
    config = {**own, **bundle_step_config(spec)}
    return Step(id=step_id, run=partial(body, gpu=config["gpu"]), deps=(RUNTIME_STEP,), config=config,
                reads=BUNDLE_READS, inputs=(IMAGE_STATE,), description=description)


def bundle_step_config(spec: Any) -> dict[str, Any]:
    """The composed values such a step builds from (its cache key); ``gpu``: the image is the GPU variant,
    decided at plan time from target.docker and optimize."""
    return {
        "k8s": spec.section("target.k8s"),
        "env": spec.env,
        "project": spec.project,
        "model": spec.model_name,
        "serving": spec.section("serving"),
        "docker": spec.section("target.docker"),
        "prometheus": spec.optional_section("monitoring.prometheus"),
        "grafana": spec.optional_section("monitoring.grafana"),
        "gpu": docker_variant(spec) == "gpu",
    }
