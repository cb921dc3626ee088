"""Build facts derived from the spec that several generators need, computed in one place.

Each function reads only the spec (no files, no artifacts), so a generator computes the fact while planning
and passes it to its step through the step's config: the cache key then covers it. Sections of optional
generators are read with ``spec.optional_section``: a fact has a defined value when that generator is not
installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

#: model sources resolved through the MLflow Model Registry / tracking store instead of a file
REGISTRY_SCHEMES = ("models:/", "runs:/")


def optimization_active(spec: Any) -> bool:
    """Whether ``model.optimize`` runs (and so serves the model instead of ``model.ingest``)."""
    return bool(getattr(spec.optional_section("optimize"), "active", False))


def served_model_step(spec: Any) -> str:
    """Id of the step whose ``onnx-model`` artifact is the model to serve."""
    # the ids belong to their generators' import-free ``ids`` modules (imported here, not at module level:
    # importing ``model.ids`` runs the model package, which imports this module)
    from mlready.generators.model.ids import INGEST_STEP
    from mlready.generators.optimize.ids import OPTIMIZE_STEP

    return OPTIMIZE_STEP if optimization_active(spec) else INGEST_STEP


def trainer_inputs(spec: Any) -> list[Path]:
    """A ``module:function`` trainer is code whose module we cannot locate reliably before it runs: its cache
    inputs are the project's top-level ``*.py`` files (none without a trainer)."""
    return sorted(spec.project_dir.glob("*.py")) if spec.model.trainer else []


def source_reads(spec: Any) -> tuple[str, ...]:
    """Spec paths a step reads to load the source model besides ``model``: a registry URI is resolved
    through the tracking store (the downloaded file itself is a declared input)."""
    return ("tracking.uri", "tracking.timeout_seconds") if spec.model.source.startswith(REGISTRY_SCHEMES) else ()


def image_ref(spec: Any) -> tuple[str, str]:
    """(repository, tag) that ``mlready image`` tags: ``[target.docker.registry/]<project.name>`` and the
    project version. The k8s, kserve, compose, cloud and CI targets pull the same reference."""
    docker = spec.optional_section("target.docker")
    registry = getattr(docker, "registry", None)
    repo = f"{registry}/{spec.project.name}" if registry else spec.project.name
    return repo, spec.project.version


#: an image a section may name instead of the built one: a registry path with a tag or digest, no credentials
IMAGE_REF = re.compile(r"^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")


def check_image(value: str | None) -> str | None:
    """Field validator for a section's own image reference (cloud and compose targets)."""
    if value is None:
        return value
    if "@" in value.split("/", 1)[0] or "://" in value or not IMAGE_REF.match(value):
        raise ValueError(f"{value!r} is not an image reference like "
                         "'123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1.0.0' (no scheme, no credentials)")
    return value


#: an image repository, without tag or digest: [registry[:port]/]path with lowercase path components
REPOSITORY = re.compile(r"^([A-Za-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$")


def check_repository(value: str | None) -> str | None:
    """Field validator for an image repository override (``target.k8s.image``)."""
    if value is not None and (len(value) > 255 or not REPOSITORY.match(value)):
        raise ValueError(f"{value!r} is not an image repository like 'ghcr.io/acme/churn' (no tag, digest or "
                         "scheme: the tag is project.version)")
    return value


def image_reference(spec: Any, override: str | None = None) -> str:
    """``override`` when a section names its own image, else ``repository:tag`` of :func:`image_ref`
    (without a registry prefix when target.docker.registry is unset: a parameter to fill at deploy time)."""
    if override:
        return override
    repo, tag = image_ref(spec)
    return f"{repo}:{tag}"


def image_model_dir(spec: Any) -> str:
    """The served model's folder inside the image, ``<serving.model_repository>/<model name>/<model.version>``:
    where the Dockerfile copies model.onnx + metadata.json, and the ``--model`` of the image's ``score``."""
    return f"{spec.section('serving').model_repository}/{spec.model_name}/{spec.model.version}"


def score_args(spec: Any, input_path: str, output_path: str, keep: tuple[str, ...] | list[str] = (),
               bad_rows: str = "fail") -> list[str]:
    """The container ``args`` (the image's ENTRYPOINT stays) running batch scoring in the built image; see
    generators/docker/README.md, "Batch scoring entrypoint"."""
    args = ["score", "--model", image_model_dir(spec), "--input", input_path, "--output", output_path]
    for column in keep:
        args += ["--keep", column]
    return args + (["--bad-rows", bad_rows] if bad_rows != "fail" else [])


def batch_scoring(spec: Any) -> bool:
    """Whether the image carries pyarrow for its ``score`` entrypoint: ``target.docker.scoring`` when set, else
    whether the batch target (``target.batch``) is enabled."""
    explicit = getattr(spec.optional_section("target.docker"), "scoring", None)
    if explicit is not None:
        return bool(explicit)
    return bool(getattr(spec.optional_section("target.batch"), "enabled", False))


#: execution providers that need the GPU variant of the image (onnxruntime-gpu, NVIDIA's CUDA/cuDNN wheels)
GPU_PROVIDERS = ("cuda", "tensorrt")


def docker_variant(spec: Any) -> str:
    """``cpu`` or ``gpu``: ``target.docker.variant`` when explicit, else (``auto``) gpu when the optimize section
    asks for CUDA or TensorRT. The image (docker), the pod's GPU limits (k8s, kserve) and the cloud instance
    types all follow it."""
    cfg = spec.optional_section("target.docker")
    chosen = getattr(cfg, "variant", "auto")
    if chosen != "auto":
        return chosen
    optimize = spec.optional_section("optimize")
    if optimize is None:  # no optimize generator installed
        return "cpu"
    return "gpu" if any(p in GPU_PROVIDERS for p in optimize.providers.order) else "cpu"


class Monitoring(NamedTuple):
    """Which monitoring generators are on (False when they are not installed)."""

    rules: bool  # monitoring.prometheus: alert rules
    grafana: bool  # monitoring.grafana: dashboards

    @property
    def on(self) -> bool:
        return self.rules or self.grafana


def monitoring(spec: Any) -> Monitoring:
    return Monitoring(rules=bool(getattr(spec.optional_section("monitoring.prometheus"), "enabled", False)),
                      grafana=bool(getattr(spec.optional_section("monitoring.grafana"), "enabled", False)))


@dataclass(frozen=True)
class Ports:
    """The model server's ports (the runtime's ``serving`` section)."""

    http: int
    grpc: int | None
    metrics: int | None

    def named(self) -> list[tuple[str, int]]:
        out = [("http", self.http)]
        if self.grpc:
            out.append(("grpc", self.grpc))
        if self.metrics:
            out.append(("metrics", self.metrics))
        return out

    @property
    def metrics_name(self) -> str:
        return "metrics" if self.metrics else "http"


def ports(spec: Any) -> Ports:
    serving = spec.section("serving")
    return Ports(http=serving.http_port, grpc=serving.grpc_port, metrics=serving.metrics_port)

