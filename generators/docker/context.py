"""Step ``docker.context``: the hermetic Docker build context under ``docker/`` in the build dir.

    docker/Dockerfile                                    kind dockerfile
    docker/.dockerignore, requirements.lock, runtime/**  kind docker-context
    docker/wheelhouse/*.whl                              kind docker-context (unless wheelhouse: false)
    docker/model-repository/<model>/<version>/model.onnx, metadata.json
    docker/runtime.json                                  kind runtime-config (model_repository set to the image's)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from mlready.engine.errors import StepError
from mlready.engine.plugin import Artifact, StepContext
from mlready.engine.version import mlready_version
from mlready.generators.docker import lock
from mlready.generators.docker.dockerfile import (
    TEMPLATE,
    DockerfileContext,
    label_instruction,
    pip_source,
    prune_lines,
)
from mlready.generators.model.ids import ONNX_MODEL, SIGNATURE
from mlready.generators.runtime.ids import CONFIG_KIND as RUNTIME_KIND
from mlready.generators.runtime.ids import STEP_ID as RUNTIME_STEP

OUT = "docker"
KIND = "docker-context"
#: files of the runtime package that are not needed to run it
_SKIP_SUFFIXES = (".pyc", ".pyi", ".md")
SCORE_REQUIREMENTS = "requirements-score.txt"
#: pyarrow's parts batch scoring never loads, removed like target.docker.prune when the image carries pyarrow:
#: Arrow Flight RPC (31 MB), C++/Cython headers and sources, the C++ test module, and the link-time copies of
#: libarrow_python* (a wheel holds no symlinks: .so and .so.X.Y.Z are copies; the loader wants .so.X only)
SCORE_PRUNE = ["pyarrow/include", "pyarrow/includes", "pyarrow/src", "pyarrow/*.pxd", "pyarrow/*.pyx",
               "pyarrow/*flight*", "pyarrow/_pyarrow_cpp_tests*", "pyarrow/libarrow_python*.so",
               "pyarrow/libarrow_python*.so.*.*.*"]
DOCKERIGNORE = ["**/__pycache__", "**/*.pyc", ".git", ".mlready"]


@dataclass(frozen=True)
class ContextConfig:
    """Everything the step's output depends on besides its upstream artifacts and input files (the cache key)."""

    docker: dict[str, Any]
    variant: str
    model_step: str
    model_name: str
    model_version: int
    project: dict[str, Any]
    revision: str
    gpu_requirement: str | None
    scoring: bool = False  # pyarrow for the `score` entrypoint (facts.batch_scoring)

    def key(self) -> dict[str, Any]:
        return self.__dict__


def runtime_dir() -> Path:
    return Path(str(files("mlready.runtime")))


def requirements_text(gpu_requirement: str | None, scoring: bool = False) -> str:
    """The runtime's pinned requirements (plus batch scoring's, ``requirements-score.txt``, when ``scoring``);
    for the GPU variant ``onnxruntime`` is swapped for the GPU build."""
    text = (runtime_dir() / "requirements.txt").read_text()
    if scoring:
        text += (runtime_dir() / SCORE_REQUIREMENTS).read_text()
    if gpu_requirement is None:
        return text
    lines = []
    for line in text.splitlines():
        name = re.split(r"[\s\[=<>!~;]", line.strip(), maxsplit=1)[0].lower()
        lines.append(gpu_requirement if name == "onnxruntime" else line)
    return "\n".join(lines) + "\n"


def runtime_sources() -> list[tuple[str, bytes]]:
    root = runtime_dir()
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix in _SKIP_SUFFIXES:
            continue
        if rel.name in ("requirements.txt", SCORE_REQUIREMENTS) or rel.parts[0] == "tests":
            continue
        out.append((rel.as_posix(), path.read_bytes()))
    return out


def _one(arts: list[Artifact], kind: str, where: str) -> Artifact:
    found = [a for a in arts if a.kind == kind]
    if len(found) != 1:
        raise StepError(f"docker.context: expected one {kind!r} artifact from {where}, found {len(found)}")
    return found[0]


def build_context(ctx: StepContext, cfg: ContextConfig) -> list[Artifact]:
    docker = cfg.docker
    model = _one(ctx.upstream(cfg.model_step), ONNX_MODEL, cfg.model_step)
    signature = ctx.artifact(SIGNATURE)
    runtime = json.loads(_one(ctx.upstream(RUNTIME_STEP), RUNTIME_KIND, RUNTIME_STEP).read_text())

    repo = f"{OUT}/model-repository/{cfg.model_name}/{cfg.model_version}"
    arts = [
        Artifact.file(f"{repo}/model.onnx", KIND, model.source) if model.source is not None
        else Artifact.from_bytes(f"{repo}/model.onnx", KIND, model.read_bytes()),
        Artifact.from_bytes(f"{repo}/metadata.json", KIND, signature.read_bytes()),
        Artifact.json(f"{OUT}/runtime.json", RUNTIME_KIND, runtime),
        Artifact.text(f"{OUT}/.dockerignore", KIND, ctx.header("#") + "\n".join(DOCKERIGNORE)),
    ]
    arts += [Artifact.from_bytes(f"{OUT}/runtime/{rel}", KIND, data) for rel, data in runtime_sources()]
    # the image's runtime has no packaging metadata: mlready.runtime.version reads the server version here
    arts.append(Artifact.text(f"{OUT}/runtime/VERSION", KIND, mlready_version()))

    request = lock.LockRequest(requirements_text(cfg.gpu_requirement, cfg.scoring), python_version=docker["python_version"],
                               arch=docker["platform"], glibc=docker["glibc"], index_url=docker["index_url"])
    ctx.progress("resolving the runtime's requirements for the image platform")
    pins = lock.resolve(request)
    header = ctx.header("#") + (f"# CPython {request.python_version}, manylinux {request.arch} (glibc "
                                f"{request.glibc}); pip install --require-hashes --no-deps -r requirements.lock")
    arts.append(Artifact.text(f"{OUT}/requirements.lock", KIND, lock.lock_text(pins, header)))
    if docker["wheelhouse"]:
        ctx.progress("collecting the wheelhouse (cached by requirements)")
        house = lock.wheelhouse(request, pins)
        arts += [Artifact.file(f"{OUT}/wheelhouse/{p.filename}", KIND, house / p.filename) for p in pins]

    arts.append(Artifact.text(f"{OUT}/Dockerfile", "dockerfile", dockerfile(ctx, cfg, runtime)))
    return arts


def image_base(docker: dict[str, Any], variant: str) -> str:
    if variant == "gpu" and docker["gpu_base_image"]:
        image, digest = docker["gpu_base_image"], docker["gpu_base_digest"]
    else:
        image, digest = docker["base_image"], docker["base_digest"]
    return f"{image}@{digest}" if digest else image


def dockerfile(ctx: StepContext, cfg: ContextConfig, runtime: dict[str, Any]) -> str:
    docker, project = cfg.docker, cfg.project
    ports = [runtime.get("http_port", 8080), runtime.get("grpc_port"), runtime.get("metrics_port")]
    values = DockerfileContext(
        header=ctx.header("#").rstrip("\n"),
        base=image_base(docker, cfg.variant),
        variant=cfg.variant,
        tag=f"{project['name']}:{project['version']}",
        model_name=cfg.model_name,
        model_version=cfg.model_version,
        labels=label_instruction({
            "org.opencontainers.image.title": project["name"],
            "org.opencontainers.image.description": project["description"],
            "org.opencontainers.image.version": project["version"],
            "org.opencontainers.image.revision": cfg.revision,
            "org.opencontainers.image.source": project["source_url"],
            "io.mlready.model.name": cfg.model_name,
            "io.mlready.model.version": str(cfg.model_version),
            "io.mlready.variant": cfg.variant,
        }),
        wheelhouse=docker["wheelhouse"],
        pip_source=pip_source(docker["wheelhouse"], docker["index_url"]),
        prune_lines=prune_lines(docker["prune"] + (SCORE_PRUNE if cfg.scoring else [])),
        uid=docker["uid"],
        gid=docker["gid"],
        model_repository=runtime["model_repository"],  # serving.model_repository: one key for image and config
        capture_dir=capture_dir(runtime.get("capture") or {}),
        ports=tuple(sorted({int(p) for p in ports if p})),
        http_port=int(ports[0]),
        healthcheck_interval=docker["healthcheck_interval_s"],
        healthcheck_start_period=docker["healthcheck_start_period_s"],
    )
    return ctx.render(TEMPLATE, **values.vars())


def capture_dir(capture: dict) -> str | None:
    """serving.capture's directory when the server writes capture files (the image makes it, owned by the
    server's user, so a compose named volume mounted there starts out writable)."""
    return capture["directory"] if capture.get("enabled") and capture.get("sink") == "file" else None
