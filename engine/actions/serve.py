"""``mlready serve``: run the model server on a project's built model, or on a model repository."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def prepare_project(project: str | Path, out: str | Path | None, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """Lay out ``workdir/models/<name>/<version>/`` from a build dir. -> (repository, runtime config dict)."""
    import json
    import shutil

    from mlready.engine.errors import UsageError
    from mlready.engine.manifest import FILENAME, Manifest
    from mlready.generators.model.ids import MODEL_PATH, ONNX_MODEL, SIGNATURE
    from mlready.generators.runtime import CONFIG_KIND
    from mlready.runtime.config import KIND as RUNTIME_DOCUMENT

    project = Path(project)
    build_dir = Path(out) if out else project / "build"
    manifest_file = build_dir / FILENAME
    manifest = Manifest.load(manifest_file)
    paths = manifest.paths
    models = paths(ONNX_MODEL)
    if not models:
        raise UsageError(f"{manifest_file} lists no onnx-model: run `mlready build -C {project}` first")
    model_path = build_dir / (MODEL_PATH if MODEL_PATH in models else models[-1])
    signature: dict[str, Any] = {}
    sig_paths = paths(SIGNATURE)
    if sig_paths:
        signature = json.loads((build_dir / sig_paths[0]).read_text(encoding="utf-8"))
    config: dict[str, Any] = {}
    for rel in paths(CONFIG_KIND):
        data = json.loads((build_dir / rel).read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("kind") == RUNTIME_DOCUMENT and "model_repository" in data:
            config = data
    name = str(signature.get("name") or project.resolve().name)
    version = signature.get("version")
    version = version if isinstance(version, int) and version > 0 else 1
    if not model_path.is_file():
        raise UsageError(f"{model_path} is missing: run `mlready build -C {project}` again")
    target = workdir / "models" / name / str(version)
    target.mkdir(parents=True)
    shutil.copyfile(model_path, target / "model.onnx")
    if signature:
        (target / "metadata.json").write_text(json.dumps(signature), encoding="utf-8")
    return workdir / "models", config


def serve(project: str | Path = ".", out: str | Path | None = None, model_repository: str | Path | None = None,
          config_file: str | Path | None = None, host: str | None = None, http_port: int | None = None,
          grpc_port: int | None = None, metrics_port: int | None = None) -> int:
    """Serve until interrupted; returns the server's exit code."""
    import json
    import tempfile

    from mlready.engine.errors import UsageError
    from mlready.runtime.config import ConfigError, RuntimeConfig

    with tempfile.TemporaryDirectory(prefix="mlready-serve-") as tmp:
        workdir = Path(tmp)
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
        data.setdefault("host", "127.0.0.1")
        try:
            config = RuntimeConfig.from_dict(data)
            config.vertex_routes(os.environ)  # AIP_* routes collide with no other route (as the server checks)
        except ConfigError as exc:
            raise UsageError(f"runtime config: {exc}") from exc
        path = workdir / "runtime.json"
        path.write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
        print(f"serving {config.model_repository} on http://{config.host}:{config.http_port}"
              + (f" and grpc {config.host}:{config.grpc_port}" if config.grpc_port else "")
              + " (Ctrl-C to stop)", file=sys.stderr)
        from mlready.runtime import logs
        from mlready.runtime.server import run

        logs.configure(config.log_level)
        return run(config, str(path))
