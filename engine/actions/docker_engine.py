"""Build, tag, record and push the image through the Docker Engine API (``DOCKER_HOST``; Podman's API works).

Used by ``mlready image``. Only this module (and :mod:`smoke`) import the ``docker`` SDK, inside functions.
Registry credentials are read from the environment at push time and never written anywhere.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlready.engine.errors import MlreadyError
from mlready.engine.serialize import dump_json
from mlready.engine.writer import atomic_write_text

#: registry credentials (read at push time only)
USER_ENV, PASSWORD_ENV = "MLREADY_REGISTRY_USER", "MLREADY_REGISTRY_PASSWORD"
_STEP = re.compile(r"^(?:\[\d+/\d+\] )?STEP \d+/\d+: |^Step \d+/\d+ : ")
_CACHED = re.compile(r"Using cache")
_FROM = re.compile(r"(?:STEP \d+/\d+|Step \d+/\d+ ?): FROM ", re.IGNORECASE)


class ImageError(MlreadyError):
    """The image could not be built, pushed or smoke-tested (exit 1); ``details`` holds the log tail."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details

    def render(self) -> str:
        text = f"error: {self}"
        return f"{text}\n{self.details}" if self.details else text


class EngineUnreachable(MlreadyError):
    exit_code = 2


ENGINE_HINT = (
    "point DOCKER_HOST at a Docker-compatible engine, e.g. Docker Engine "
    "(export DOCKER_HOST=unix:///var/run/docker.sock) or Podman's API service "
    "(podman system service --time=0 unix:///run/podman/podman.sock & "
    "export DOCKER_HOST=unix:///run/podman/podman.sock; tools/containers/setup.sh does this for the tests)"
)


def connect(timeout: int = 900) -> Any:
    """A ``docker.DockerClient`` from the environment, checked with a ping."""
    import docker
    from docker.errors import DockerException

    where = os.environ.get("DOCKER_HOST", "the default socket unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (DockerException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EngineUnreachable(f"cannot reach a container engine at {where} ({first}); {ENGINE_HINT}") from None
    return client


@dataclass
class BuiltImage:
    ref: str  # name:tag as built
    id: str
    steps: int  # Dockerfile steps other than FROM
    cached: int  # of which were reused from the engine's cache
    seconds: float
    log: list[str] = field(default_factory=list)


def build(client: Any, context_dir: Path, ref: str, build_args: dict[str, str] | None = None,
          no_cache: bool = False) -> BuiltImage:
    """Build ``context_dir`` and tag it ``ref``. A failure raises :class:`ImageError` naming the failing step."""
    from docker.errors import APIError

    log: list[str] = []
    image_id = ""
    t0 = time.perf_counter()
    try:
        stream = client.api.build(path=str(context_dir), tag=ref, rm=True, forcerm=True, decode=True,
                                  buildargs=build_args or {}, nocache=no_cache)
        for item in stream:
            if "stream" in item:
                log.extend(line for line in item["stream"].splitlines() if line.strip())
            if "error" in item or "errorDetail" in item:
                detail = item.get("error") or item["errorDetail"].get("message", "")
                raise _build_failed(log, detail)
            aux = item.get("aux") or {}
            if aux.get("ID"):
                image_id = aux["ID"]
    except APIError as exc:
        raise _build_failed(log, str(exc.explanation or exc)) from None
    if not image_id:
        found = [line.split()[-1] for line in log if line.startswith("Successfully built")]
        if not found:
            raise _build_failed(log, "the engine reported no image id")
        image_id = client.images.get(found[-1]).id
    # FROM only names a base; every other step makes (or reuses) a layer or config entry
    steps = [line for line in log if _STEP.match(line) and not _FROM.search(line)]
    cached = sum(1 for line in log if _CACHED.search(line))
    return BuiltImage(ref, image_id, len(steps), cached, time.perf_counter() - t0, log)


def _build_failed(log: list[str], detail: str) -> ImageError:
    steps = [line for line in log if _STEP.match(line)]
    failing = steps[-1] if steps else "(before the first step)"
    tail = "\n".join(f"  | {line}" for line in log[-25:])
    hint = ""
    if _FROM.search(failing) and any(w in detail for w in ("registry", "pull", "no such host", "manifest unknown")):
        hint = (" (the base image could not be pulled: with no access to its registry, build on one in the local "
                "store, e.g. target.docker.base_image=localhost/<image>:<tag>)")
    return ImageError(f"image build failed at {failing.strip()}: {detail.strip()}{hint}",
                      details=f"last lines of the build log:\n{tail}")


@dataclass(frozen=True)
class ImageSize:
    total: int
    base: int | None  # None when the base image is not in the local store
    added: int | None
    largest_added_layer: int | None


def size(client: Any, image_id: str, base_ref: str) -> ImageSize:
    """Total size, and the part (and largest layer) the Dockerfile added on top of ``base_ref``."""
    image = client.images.get(image_id)
    total = int(image.attrs.get("Size") or 0)
    try:
        base = client.images.get(base_ref)
    except Exception:  # noqa: BLE001 - base not present locally (pulled by digest elsewhere)
        return ImageSize(total, None, None, None)
    base_layers = len(base.attrs.get("RootFS", {}).get("Layers", []))
    history = [h for h in image.history() if h.get("Size", 0) > 0]  # newest first, non-empty layers
    added_layers = [h["Size"] for h in history[: max(0, len(history) - base_layers)]]
    base_total = int(base.attrs.get("Size") or 0)
    return ImageSize(total, base_total, total - base_total, max(added_layers) if added_layers else 0)


def repo_digest(client: Any, image_id: str) -> str | None:
    digests = client.images.get(image_id).attrs.get("RepoDigests") or []
    return digests[0].split("@", 1)[1] if digests else None


def push(client: Any, repository: str, tag: str) -> str:
    """Push ``repository:tag``; credentials come from MLREADY_REGISTRY_USER/PASSWORD when set. Returns the digest."""
    auth = None
    if os.environ.get(USER_ENV) or os.environ.get(PASSWORD_ENV):
        auth = {"username": os.environ.get(USER_ENV, ""), "password": os.environ.get(PASSWORD_ENV, "")}
    digest = ""
    lines: list[str] = []
    for item in client.api.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
        if "error" in item or "errorDetail" in item:
            detail = item.get("error") or item["errorDetail"].get("message", "")
            raise ImageError(f"push of {repository}:{tag} failed: {detail}", details="\n".join(lines[-10:]))
        if item.get("status"):
            lines.append(str(item["status"]))
        aux = item.get("aux") or {}
        digest = aux.get("Digest", digest)
        match = re.search(r"digest: (sha256:[0-9a-f]{64})", str(item.get("status", "")))
        if match:
            digest = match.group(1)
    if not digest:
        raise ImageError(f"push of {repository}:{tag} reported no digest", details="\n".join(lines[-10:]))
    return digest


@dataclass(frozen=True)
class ImageRecord:
    name: str
    tag: str
    id: str
    digest: str | None

    def write(self, project_dir: Path) -> Path:
        """``<project>/.mlready/image.json`` (read by the k8s target as a declared input)."""
        path = project_dir / ".mlready" / "image.json"
        atomic_write_text(path, dump_json(asdict(self)))
        return path
