"""The post-build hook: every successful ``mlready build`` becomes an MLflow run.

The run (in the experiment ``tracking.experiment``, default the project name) holds:

- params: the composed spec, flattened to dotted keys (secret-looking values redacted);
- tags: the git commit (``mlflow.source.git.commit``) and dirty flag, the spec digest, the build key, the
  overrides and group choices, the env;
- metrics: the numbers in ``reports/readiness.json`` and ``reports/optimization.json`` when present;
- artifacts: ``spec/deploy.yaml`` (the composed spec), ``manifest.json``, ``reports/`` and ``model/``.

With ``tracking.register_model`` the served ONNX (``model/model.onnx``) becomes a new version of the registered
model (``tracking.model_name``, default the served model name), tagged with the build key, the model's
sha256, the readiness metrics and the image digest when the manifest knows it. A model whose sha256 is already
registered is not registered again (rebuilding with other targets reuses its version).

Switch off with ``tracking.enabled=false`` or ``MLREADY_TRACKING=0`` in the environment. MLflow is imported
only when a run is recorded. A no-op rebuild — same outputs, spec, clean git commit and store as the build
recorded last (``.mlready/tracked.json``) — is that same run and records nothing new.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlready.engine.errors import MlreadyError
from mlready.engine.lifecycle import background
from mlready.engine.lifecycle.flatten import flat_params, numeric_leaves, redact
from mlready.engine.lifecycle.store import (
    Store,
    bounded_http,
    check_reachable,
    ensure_experiment,
    open_client,
    project_lock,
    store_from_spec,
)
from mlready.engine.manifest import Manifest
from mlready.engine.writer import atomic_write_text

REPORTS = {"readiness": "reports/readiness.json", "optimization": "reports/optimization.json"}
#: readiness metrics copied onto a registered model version as tags
VERSION_TAG_METRICS = ("readiness.eval.metrics.", "readiness.parity.metrics.", "readiness.summary.")
OFF = {"0", "false", "off", "no"}


class TrackingError(MlreadyError):
    """Recording the build in MLflow failed (the build dir itself was written)."""


@dataclass(frozen=True)
class TrackedBuild:
    run_id: str
    experiment_id: str
    model_name: str | None = None
    model_version: str | None = None
    model_new: bool = False  # False: an identical build was already registered as that version
    experiment: str = ""
    served_version: int | None = None  # model.version: the version the model server serves
    store: str = ""

    def lines(self) -> list[str]:
        where = f"mlflow: run {self.run_id} in experiment {self.experiment}"
        if self.model_version:
            verb = "registered as" if self.model_new else "same model as"
            where += (f"; {verb} registry version {self.model_version} of {self.model_name} (MLflow numbers "
                      f"each registration; the server serves it as model.version {self.served_version})")
        return [f"{where} ({self.store})"]


def tracking_enabled(spec: Any) -> bool:
    if os.environ.get("MLREADY_TRACKING", "").strip().lower() in OFF:
        return False
    # None when built with a generator list that leaves tracking out
    return bool(getattr(spec.optional_section("tracking"), "enabled", False))


def build_key(manifest: Manifest) -> str:
    """A digest of what the build produced: every artifact path and content hash."""
    pairs = sorted((a.path, a.sha256) for a in manifest.artifacts)
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def collect_metrics(out_dir: Path) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for prefix, rel in REPORTS.items():
        report = _read_json(out_dir / rel)
        if isinstance(report, dict):
            metrics.update(numeric_leaves(report, prefix))
    return metrics


def run_tags(spec: Any, manifest: Manifest) -> dict[str, str]:
    git = manifest.git
    tags = {
        "mlready.project": spec.project.name,
        "mlready.project_version": spec.project.version,
        "mlready.env": spec.env.name,
        "mlready.spec_digest": manifest.spec.digest,
        "mlready.build_key": build_key(manifest),
        "mlready.overrides": json.dumps(list(spec.overrides)),
        "mlready.choices": json.dumps(spec.choices, sort_keys=True, default=str),
        "mlready.git.dirty": str(git.dirty).lower(),
        "mlflow.source.name": spec.project.name,
    }
    if git.commit:
        tags["mlflow.source.git.commit"] = git.commit
    return tags


def _served_model_sha(manifest: Manifest) -> str | None:
    """The sha256 of the build's served model, or None when the build serves none."""
    from mlready.generators.model.ids import ONNX_MODEL

    return next((a.sha256 for a in manifest.artifacts if a.kind == ONNX_MODEL), None)


def _registered_name(spec: Any) -> str:
    name: str = spec.section("tracking").model_name or spec.model_name
    return name


def _version_of(client: Any, name: str, model_sha: str) -> Any:
    """The registered version of ``name`` holding this exact model, or None."""
    for version in client.search_model_versions(f"name='{name}'"):
        if (version.tags or {}).get("mlready.model_sha256") == model_sha:
            return version
    return None


def image_digest(manifest: Manifest) -> str | None:
    return manifest.image.digest if manifest.image is not None else None


@dataclass(frozen=True)
class TrackingJob:
    """Everything a run needs, as plain data: recorded in-process, or by a background worker
    (:mod:`mlready.engine.lifecycle.worker`) from a JSON file, without the spec or the build dir."""

    store: Store
    experiment: str
    run_name: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    spec_yaml: str
    files_dir: str  # manifest.json, reports/, model/ of the build (or a hard-linked snapshot of them)
    register: bool
    registered_name: str
    project: str
    project_version: str
    model_version: int  # model.version: the serving version, not the registry's
    model_sha: str | None
    build_key: str
    image_digest: str | None
    fingerprint: str | None
    marker: str  # .mlready/tracked.json

    def to_json(self) -> str:
        data = asdict(self)
        data["store"] = asdict(self.store)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrackingJob:
        data = json.loads(text)
        data["store"] = Store(**data["store"])
        return cls(**data)


def job_for(spec: Any, manifest: Manifest, out_dir: Path, store: Store, fingerprint: str | None) -> TrackingJob:
    from mlready.engine.serialize import dump_yaml

    cfg = spec.section("tracking")
    return TrackingJob(
        store=store, experiment=cfg.experiment or spec.project.name,
        run_name=f"{spec.project.name}-{spec.project.version}", tags=run_tags(spec, manifest),
        params=flat_params(spec.to_dict()), metrics=collect_metrics(out_dir),
        spec_yaml=dump_yaml(redact(spec.to_dict()), header="# the composed spec of this build"),
        files_dir=str(out_dir), register=bool(cfg.register_model), registered_name=_registered_name(spec),
        project=spec.project.name, project_version=spec.project.version, model_version=spec.model.version,
        model_sha=_served_model_sha(manifest), build_key=build_key(manifest), image_digest=image_digest(manifest),
        fingerprint=fingerprint, marker=str(Path(spec.project_dir) / ".mlready" / "tracked.json"),
    )


def _log_files(client: Any, run_id: str, job: TrackingJob) -> None:
    files = Path(job.files_dir)
    with tempfile.TemporaryDirectory(prefix="mlready-spec-") as tmp:
        spec_file = Path(tmp) / "deploy.yaml"
        spec_file.write_text(job.spec_yaml, encoding="utf-8")
        client.log_artifact(run_id, str(spec_file), "spec")
    if (files / "manifest.json").is_file():
        client.log_artifact(run_id, str(files / "manifest.json"))
    for folder in ("reports", "model"):
        if (files / folder).is_dir():
            client.log_artifacts(run_id, str(files / folder), folder)


def _register(client: Any, job: TrackingJob, run: Any, model_sha: str) -> tuple[str, str, bool]:
    name = job.registered_name
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, tags={"mlready.project": job.project})
    existing = _version_of(client, name, model_sha)
    if existing is not None:  # this exact model is registered
        return name, str(existing.version), False
    tags = {
        "mlready.build_key": job.build_key,
        "mlready.model_sha256": model_sha,
        "mlready.project_version": job.project_version,
        "mlready.model_version": str(job.model_version),
    }
    tags.update({k: repr(v) for k, v in job.metrics.items() if k.startswith(VERSION_TAG_METRICS)})
    if job.image_digest:
        tags["mlready.image_digest"] = job.image_digest
    mv = client.create_model_version(
        name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id, tags=tags,
        description=f"{job.project} {job.project_version}: built by mlready (served as model.version "
                    f"{job.model_version})",
    )
    return name, str(mv.version), True


def record(client: Any, job: TrackingJob) -> TrackedBuild:
    """Log one build as a finished run (and register its model); a failure marks the run FAILED."""
    from mlflow.entities import Metric, Param

    exp_id = ensure_experiment(client, job.store, job.experiment)
    run = client.create_run(exp_id, run_name=job.run_name, tags=job.tags)
    run_id = run.info.run_id
    try:
        params = [Param(k, v) for k, v in job.params.items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            client.log_batch(run_id, params=params[i : i + 100])
        now = int(time.time() * 1000)  # the run's record, not a build artifact: the clock is fine here
        items = [Metric(k, v, now, 0) for k, v in job.metrics.items()]
        for i in range(0, len(items), 1000):
            client.log_batch(run_id, metrics=items[i : i + 1000])
        _log_files(client, run_id, job)
        name = version = None
        new = False
        if job.register and job.model_sha:
            name, version, new = _register(client, job, run, job.model_sha)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return TrackedBuild(run_id, exp_id, name, version, new, job.experiment, job.model_version, job.store.display)


def run_job(job: TrackingJob) -> TrackedBuild:
    """Record ``job`` in its store (one writer at a time per project), then remember its fingerprint."""
    store = job.store
    try:
        with bounded_http(store.timeout), project_lock(Path(job.marker).parent):
            client = open_client(store)
            tracked = record(client, job)
    except MlreadyError:
        raise
    except Exception as exc:  # MLflow, SQLAlchemy and requests errors: say where, hide credentials
        message = str(getattr(exc, "message", exc)).replace(store.tracking_uri, store.display)
        raise TrackingError(
            f"recording the build in MLflow ({store.display}) failed: {type(exc).__name__}: {message}"
        ) from None
    if job.fingerprint:
        atomic_write_text(Path(job.marker), json.dumps({"fingerprint": job.fingerprint, "run_id": tracked.run_id},
                                                       sort_keys=True))
    return tracked


@dataclass(frozen=True)
class Note:
    """Lines a hook has to say (the build command prints them unless --quiet)."""

    text: list[str]

    def lines(self) -> list[str]:
        return self.text


class MlflowHook:
    """Registered under the ``mlready.hooks`` entry-point group; called by the engine after a build."""

    def _prepare(self, spec: Any, result: Any) -> tuple[TrackingJob | None, list[str]]:
        notes = background.reported_failures(Path(spec.project_dir))
        if not tracking_enabled(spec):
            return None, notes
        store = store_from_spec(spec)
        fingerprint = _fingerprint(store, result)
        previous = _read_json(Path(spec.project_dir) / ".mlready" / "tracked.json") or {}
        if fingerprint and previous.get("fingerprint") == fingerprint:
            # a no-op rebuild (every step cached, same spec, commit and store): it is the run already recorded
            notes.append(f"mlflow: unchanged build, already recorded as run {previous.get('run_id')} "
                         f"({store.display})")
            return None, notes
        if fingerprint and background.pending_fingerprint(Path(spec.project_dir), fingerprint):
            notes.append(f"mlflow: unchanged build, being recorded in the background ({store.display})")
            return None, notes
        return job_for(spec, result.manifest, Path(result.out_dir), store, fingerprint), notes

    def after_build(self, spec: Any, result: Any) -> Note | None:
        """Record the run before returning (the API's default, and ``mlready image``)."""
        job, notes = self._prepare(spec, result)
        if job is not None:
            notes += run_job(job).lines()
        return Note(notes) if notes else None

    def after_build_detached(self, spec: Any, result: Any) -> Note | None:
        """Hand the run to a background worker (``mlready build``): MLflow's import alone takes ~2.5 s. A
        remote server is probed first, so a dead one still fails the command; a failure of the worker is
        reported by the next build."""
        job, notes = self._prepare(spec, result)
        if job is not None:
            check_reachable(job.store)
            notes += background.start(job)
        return Note(notes) if notes else None


def _fingerprint(store: Store, result: Any) -> str | None:
    """What makes two builds the same run: outputs, composed spec, git state and the store they go to."""
    manifest: Manifest = result.manifest
    if manifest.git.dirty:
        return None  # uncommitted changes: always record
    material = [build_key(manifest), manifest.spec.digest, manifest.git.commit, store.display,
                str(Path(result.out_dir))]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def record_image(spec: Any, manifest: Manifest, ref: str, digest: str | None) -> str | None:
    """Tag the registered version of this build's model with its image (for ``mlready image`` to call once the
    image exists: the post-build hook runs before). Returns the version tagged, or None."""
    cfg = spec.section("tracking")
    model_sha = _served_model_sha(manifest)
    if not (tracking_enabled(spec) and cfg.register_model and model_sha):
        return None
    store = store_from_spec(spec)
    name = _registered_name(spec)
    # a background worker may still be registering this model: the lock waits for it
    with bounded_http(store.timeout), project_lock(Path(spec.project_dir) / ".mlready"):
        client = open_client(store)
        version = _version_of(client, name, model_sha)
        if version is None:
            return None
        client.set_model_version_tag(name, str(version.version), "mlready.image", ref)
        if digest:
            client.set_model_version_tag(name, str(version.version), "mlready.image_digest", digest)
    return str(version.version)
