"""``mlready serve``: run the model server on a project's built model, or on a model repository."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from mlready.engine.manifest import Manifest


class BuiltModel(NamedTuple):
    """A build's served model: its build dir, manifest, model.onnx and signature.json (None without one)."""

    build_dir: Path
    manifest: Manifest
    model: Path
    signature: Path | None


def built_model(project: str | Path, out: str | Path | None) -> BuiltModel:
    """The build's served model (``mlready serve``, ``score`` and ``monitor`` read it); a UsageError naming the
    command to run when there is no build or it has no model."""
    from mlready.engine.errors import UsageError
    from mlready.engine.manifest import FILENAME, Manifest
    from mlready.generators.model.ids import MODEL_PATH, ONNX_MODEL, SIGNATURE

    build_dir = Path(out) if out else Path(project) / "build"
    manifest_file = build_dir / FILENAME
    if not manifest_file.is_file():
        if out is None:  # no build dir named: the project itself may be the mistake
            from mlready.engine.compose import require_spec

            require_spec(Path(project).resolve())
        raise UsageError(f"{manifest_file} not found: run `mlready build -C {project}` first")
    manifest = Manifest.load(manifest_file)
    models = manifest.paths(ONNX_MODEL)
    if not models:
        raise UsageError(f"{manifest_file} lists no onnx-model: run `mlready build -C {project}` first")
    model = build_dir / (MODEL_PATH if MODEL_PATH in models else models[-1])
    if not model.is_file():
        raise UsageError(f"{model} is missing: run `mlready build -C {project}` again")
    signatures = manifest.paths(SIGNATURE)
    return BuiltModel(build_dir, manifest, model, (build_dir / signatures[0]) if signatures else None)


def prepare_project(project: str | Path, out: str | Path | None, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """Lay out ``workdir/models/<name>/<version>/`` from a build dir. -> (repository, runtime config dict)."""
    import json
    import shutil

    from mlready.generators.runtime import CONFIG_KIND
    from mlready.runtime.config import KIND as RUNTIME_DOCUMENT

    built = built_model(project, out)
    signature: dict[str, Any] = {}
    if built.signature is not None:
        signature = json.loads(built.signature.read_text(encoding="utf-8"))
    config: dict[str, Any] = {}
    for rel in built.manifest.paths(CONFIG_KIND):
        data = json.loads((built.build_dir / rel).read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("kind") == RUNTIME_DOCUMENT and "model_repository" in data:
            config = data
    name = str(signature.get("name") or Path(project).resolve().name)
    version = signature.get("version")
    version = version if isinstance(version, int) and version > 0 else 1
    target = workdir / "models" / name / str(version)
    target.mkdir(parents=True)
    shutil.copyfile(built.model, target / "model.onnx")
    if signature:
        (target / "metadata.json").write_text(json.dumps(signature), encoding="utf-8")
    return workdir / "models", config


def _digest(path: Path) -> str | None:
    import hashlib

    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _until_changed(manifest: Path, seen: str | None, interval: float = 0.5) -> Any:
    """A coroutine factory: finishes when the build's manifest.json has other content than ``seen`` (a
    build replaces the build dir in one swap, so a new manifest means a complete new build)."""

    async def changed() -> None:
        import asyncio

        while True:
            await asyncio.sleep(interval)
            now = _digest(manifest)
            if now is not None and now != seen:
                return

    return changed


def _wait_for_change(manifest: Path, seen: str | None, interval: float = 0.5) -> str | None:
    import time

    while (now := _digest(manifest)) in (seen, None):
        time.sleep(interval)
    return now


def serve(project: str | Path = ".", out: str | Path | None = None, model_repository: str | Path | None = None,
          config_file: str | Path | None = None, host: str | None = None, http_port: int | None = None,
          grpc_port: int | None = None, metrics_port: int | None = None, *, grpc_off: bool = False,
          watch: bool = False) -> int:
    """Serve until interrupted; returns the server's exit code. A project's build is served as a snapshot
    (copied into a temporary model repository) unless ``watch``: then every new build is picked up (the
    server restarts on the same ports once the new build dir is in place)."""
    import itertools
    import tempfile

    from mlready.engine.errors import UsageError
    from mlready.engine.manifest import FILENAME
    from mlready.runtime import logs
    from mlready.runtime.server import RESTART, run

    if watch and model_repository is not None:
        raise UsageError("--watch follows a project's build; a --model-repository is polled for new versions "
                         "by the server itself")
    build_dir = Path(out) if out else Path(project) / "build"
    manifest = build_dir / FILENAME
    with tempfile.TemporaryDirectory(prefix="mlready-serve-") as tmp:
        for attempt in itertools.count():
            seen = _digest(manifest)
            workdir = Path(tmp) / str(attempt)
            workdir.mkdir()
            try:
                config, path = _configure(project, out, model_repository, config_file, workdir, host, http_port,
                                          grpc_port, metrics_port, grpc_off)
            except UsageError as exc:
                if not (watch and attempt):
                    raise
                print(f"warning: the new build cannot be served ({exc}); waiting for the next one",
                      file=sys.stderr, flush=True)
                _wait_for_change(manifest, seen)
                continue
            logs.configure(config.log_level, human=None)
            show = _banner(config, build_dir if model_repository is None else None, watch)

            def banner(http: int, grpc: int | None, show: Any = show) -> None:
                nonlocal http_port, grpc_port
                http_port, grpc_port = http, grpc if grpc else grpc_port  # a restart keeps the ports bound
                show(http, grpc)

            if config.workers > 1:  # the worker processes bind; the supervisor does not know the ports
                show(config.http_port, config.grpc_port)
            code = run(config, str(path), on_bound=banner,
                       restart=_until_changed(manifest, seen) if watch else None)
            if code != RESTART:
                return code
            print(f"{build_dir} changed: serving the new build", file=sys.stderr, flush=True)
    raise AssertionError("unreachable")  # pragma: no cover


def _configure(project: str | Path, out: str | Path | None, model_repository: str | Path | None,
               config_file: str | Path | None, workdir: Path, host: str | None, http_port: int | None,
               grpc_port: int | None, metrics_port: int | None, grpc_off: bool) -> tuple[Any, Path]:
    import json

    from mlready.engine.errors import UsageError
    from mlready.runtime.config import ConfigError, RuntimeConfig

    data: dict[str, Any] = {}
    if config_file is not None:
        try:
            data = RuntimeConfig.load(config_file).to_dict()
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc
    if model_repository is not None:
        repo = Path(model_repository)
        if not repo.is_dir():
            raise UsageError(f"--model-repository {repo}: not a directory")
    else:
        repo, built = prepare_project(project, out, workdir)
        data = data or built
        data["host"] = host or "127.0.0.1"  # a local server: loopback unless asked
        data.setdefault("metrics_port", None)
        if metrics_port is None and data.get("metrics_port"):
            data["metrics_port"] = None  # locally, /metrics on the HTTP port is enough
    data["model_repository"] = str(repo.resolve())
    overrides = {"host": host, "http_port": http_port, "grpc_port": grpc_port, "metrics_port": metrics_port}
    data.update({k: v for k, v in overrides.items() if v is not None})
    if grpc_off:
        data["grpc_port"] = None
    data.setdefault("host", "127.0.0.1")
    try:
        config = RuntimeConfig.from_dict(data)
        config.vertex_routes(os.environ)  # AIP_* routes collide with no other route (as the server checks)
    except ConfigError as exc:
        raise UsageError(f"runtime config: {exc}") from exc
    path = workdir / "runtime.json"
    path.write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
    return config, path


def _banner(config: Any, build_dir: Path | None, watch: bool) -> Any:
    """What ``mlready serve`` prints once its ports are bound (the ports actually bound)."""

    def show(http_port: int, grpc_port: int | None) -> None:
        host = f"[{config.host}]" if ":" in config.host else config.host
        where = f"http://{host}:{http_port}" + (f" and grpc {host}:{grpc_port}" if grpc_port else " (gRPC off)")
        if build_dir is None:
            what = (f"the model repository {config.model_repository} (new versions picked up every "
                    f"{config.poll_interval_s:g}s)" if config.poll_interval_s else
                    f"the model repository {config.model_repository}")
            note = ""
        else:
            what = f"the build in {build_dir}"
            note = ("\n  watching it: a rebuild is served as soon as it is written" if watch else
                    "\n  a snapshot of this build: a rebuild is not picked up until you restart (or use --watch)")
        capture = getattr(config, "capture", None)
        if capture is not None and capture.enabled:
            to = {"file": f"JSONL files in {capture.directory}", "stdout": "stdout",
                  "http": f"POST to {capture.url}"}.get(capture.sink, capture.sink)
            note += f"\n  capturing predictions (sample rate {capture.sample_rate:g}) to {to}"
        print(f"serving {what} on {where} (Ctrl-C to stop){note}", file=sys.stderr, flush=True)

    return show
