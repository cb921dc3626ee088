"""The programmatic API. Every CLI command is a thin wrapper around one function here.

    from mlready.engine import api
    result = api.build("examples/quickstart", ["+target=k8s"])
    result.manifest.artifacts
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlready.engine import registry
from mlready.engine.compose import require_spec
from mlready.engine.drift import Drift
from mlready.engine.errors import BuildFailed, MlreadyError, UsageError
from mlready.engine.execute import NullReporter, Reporter, StepRecord, execute
from mlready.engine.graph import Plan, plan
from mlready.engine.load import load_spec
from mlready.engine.manifest import SCHEMA_VERSION, ArtifactEntry, CacheState, GitRecord, Manifest, SpecRecord
from mlready.engine.plugin import Generator
from mlready.engine.serialize import canonical_json
from mlready.engine.spec import Spec
from mlready.engine.version import mlready_version
from mlready.engine.writer import MANIFEST, Kept, check_out_dir, keep_dir, user_changes, write_tree

if TYPE_CHECKING:
    from mlready.engine.actions.deploy import DeployResult, RolloutStatus
    from mlready.engine.actions.image import ImageReport
    from mlready.engine.lifecycle.promote import Promotion


def default_out(project_dir: Path) -> Path:
    return project_dir / "build"


def cache_dir(project_dir: Path) -> Path:
    env = os.environ.get("MLREADY_CACHE_DIR")
    return Path(env) if env else project_dir / ".mlready" / "cache"


@dataclass
class BuildResult:
    spec: Spec
    plan: Plan
    records: list[StepRecord]
    manifest: Manifest
    out_dir: Path
    kept: Kept = field(default_factory=Kept)  # files the user changed in the old build dir, moved aside
    notes: list[str] = field(default_factory=list)  # what the post-build hooks report (MLflow run, ...)

    @property
    def ok(self) -> bool:
        return all(r.cache.ok for r in self.records)

    @property
    def failed(self) -> list[StepRecord]:
        return [r for r in self.records if r.cache == CacheState.FAILED]


def _resolve_out(project_dir: Path, out: str | Path | None) -> Path:
    return Path(out).resolve() if out else default_out(project_dir)


def build_manifest(spec: Spec, records: list[StepRecord], inputs: dict[str, str] | None = None) -> Manifest:
    from mlready.engine.provenance import git_info

    artifacts = [ArtifactEntry(path=art.path, kind=art.kind, sha256=art.sha256(), step=rec.id)
                 for rec in records for art in rec.artifacts]
    artifacts.sort(key=lambda a: a.path)
    spec_dict = spec.to_dict()
    return Manifest(
        schema_version=SCHEMA_VERSION,
        mlready_version=mlready_version(),
        project=spec.project.name,
        spec=SpecRecord(overrides=list(spec.overrides), choices=spec.choices,
                        digest=hashlib.sha256(canonical_json(spec_dict).encode()).hexdigest()),
        git=GitRecord(**git_info(spec.project_dir)),
        steps=[r.manifest_entry() for r in records],
        artifacts=artifacts,
        inputs=inputs,
    )


def run(project_dir: str | Path, overrides: list[str] | None = None, reporter: Reporter | None = None,
        jobs: int | None = None, use_cache: bool = True, generators: list[Generator[Any]] | None = None
        ) -> tuple[Spec, Plan, list[StepRecord]]:
    """Compose, plan and execute without writing anything but the cache."""
    project = Path(project_dir).resolve()
    spec, the_plan = _load_and_plan(project, overrides, generators)
    records = execute(the_plan, spec, cache_dir(project), reporter or NullReporter(), jobs, use_cache)
    return spec, the_plan, records


def _load_and_plan(project: Path, overrides: list[str] | None, generators: list[Generator[Any]] | None
                   ) -> tuple[Spec, Plan]:
    gens = list(generators if generators is not None else registry.generators())
    spec, _ = load_spec(project, overrides, gens)
    return spec, plan(spec, gens)


def _folders_gone(out_dir: Path, artifacts: list[Any]) -> list[str]:
    """Top-level folders of the previous build in ``out_dir`` that this build does not make (``k8s/`` after a
    build without +target=k8s): said, since the writer replaces the whole build dir."""
    from mlready.engine.manifest import Manifest

    def folders(paths: Any) -> set[str]:
        return {p.split("/", 1)[0] + "/" for p in paths if "/" in p}

    try:
        before = Manifest.load(out_dir).artifacts
    except Exception:  # noqa: BLE001 - no previous build, or one mlready cannot read: nothing to compare
        return []
    return sorted(folders(a.path for a in before) - folders(a.path for a in artifacts))


def build(project_dir: str | Path, overrides: list[str] | None = None, out: str | Path | None = None,
          reporter: Reporter | None = None, jobs: int | None = None, use_cache: bool = True,
          generators: list[Generator[Any]] | None = None, run_hooks: bool = True,
          keep: Collection[str] = (), detach_hooks: bool = False) -> BuildResult:
    """Build and write ``out`` (default ``<project>/build``). Raises :class:`BuildFailed` when a step fails;
    the previous output is then left untouched and what the build produced is kept in
    ``<project>/.mlready/failed-build`` for inspection. ``keep``: artifact paths the new build must still
    produce (a :class:`UsageError` before anything is written otherwise: ``mlready image`` builds on the
    previous build and must not drop what the user built). ``detach_hooks``: a hook that can finish its work
    in the background (``after_build_detached``: MLflow tracking) does so; the command line asks for it."""
    project = Path(project_dir).resolve()
    require_spec(project, overrides)  # before the build dir: a folder that is not a project is the problem
    out_dir = _resolve_out(project, out)
    check_out_dir(out_dir, project)
    spec, the_plan, records = run(project, overrides, reporter, jobs, use_cache, generators)
    manifest = build_manifest(spec, records, the_plan.inputs)
    artifacts = [a for r in records for a in r.artifacts]
    result = BuildResult(spec, the_plan, records, manifest, out_dir)
    if not result.ok:
        failed_dir = project / ".mlready" / "failed-build"
        write_tree(failed_dir, artifacts, manifest)
        failed = [r.id for r in result.failed]
        raise BuildFailed(_failure_text(records, failed_dir), failed)
    if dropped := sorted(set(keep) - {a.path for a in artifacts}):
        shown = ", ".join(dropped[:5]) + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
        raise UsageError(f"this build would drop {len(dropped)} file(s) of the previous build in {out_dir} "
                         f"({shown}); nothing was written: rebuild with `mlready build` and the overrides "
                         "that make them, or remove them on purpose first")
    result.kept = user_changes(out_dir)
    if result.kept:
        result.kept.dir = keep_dir(project)
    gone = _folders_gone(out_dir, artifacts)
    write_tree(out_dir, artifacts, manifest, result.kept)
    if gone:
        targets = {g.name for g in registry.generators() if g.group == "target"}
        again = [d.rstrip("/") for d in gone if d.rstrip("/") in targets]
        example = f"+target={again[0]}" if len(again) == 1 else f"'+target=[{','.join(again)}]'"
        result.notes.append(f"no longer built: {', '.join(gone)} (a build makes what its overrides switch on; the "
                            "last build's are not remembered: pass them again" + (f", e.g. {example})" if again
                                                                                   else ")"))
    try:
        for hook in registry.hooks() if run_hooks else ():
            run_hook = getattr(hook, "after_build_detached", None) if detach_hooks else None
            outcome = (run_hook or hook.after_build)(spec, result)
            result.notes.extend(outcome.lines() if hasattr(outcome, "lines") else [])
    except MlreadyError as exc:  # the build dir is written: a failing hook must not hide what was moved aside
        if result.kept:
            exc.args = ("\n".join([str(exc), *result.kept.lines(out_dir)]), *exc.args[1:])
        raise
    return result


def _failure_text(records: list[StepRecord], failed_dir: Path) -> str:
    lines = ["the build failed; the previous output was left untouched"]
    for r in records:
        if r.cache == CacheState.FAILED:
            lines.append(f"  step {r.id} failed: {_in_failed_dir(r, failed_dir)}")
            if r.details:
                lines.extend("    " + d for d in r.details.rstrip().splitlines())
        elif r.cache == CacheState.SKIPPED:
            lines.append(f"  step {r.id} {r.error}")
    lines.append(f"  what the build produced is in {failed_dir}")
    return "\n".join(lines)


def _in_failed_dir(record: StepRecord, failed_dir: Path) -> str:
    """The step's error with "see <path>" of what it produced (a failed gate's report) pointing into the failed
    build, not at the build dir, which still holds the previous, passing build."""
    paths = sorted({a.path for a in record.artifacts}, key=len, reverse=True)
    if not paths or not record.error:
        return record.error or ""
    pattern = re.compile(r"\bsee (" + "|".join(re.escape(p) for p in paths) + r")(?![\w/])")
    return pattern.sub(lambda m: f"see {failed_dir / m.group(1)}", record.error)


def plan_build(project_dir: str | Path, overrides: list[str] | None = None,
               generators: list[Generator[Any]] | None = None) -> tuple[Spec, Plan, dict[str, bool]]:
    """The plan and, per step, whether its key is already in the cache."""
    from mlready.engine.cache import StepCache

    project = Path(project_dir).resolve()
    spec, the_plan = _load_and_plan(project, overrides, generators)
    store = StepCache(cache_dir(project))
    cached = {p.step.id: p.step.cacheable and store.get(p.key) is not None for p in the_plan.steps}
    return spec, the_plan, cached


def validate(project_dir: str | Path, overrides: list[str] | None = None,
             generators: list[Generator[Any]] | None = None) -> Spec:
    spec, _ = load_spec(Path(project_dir), overrides, generators)
    return spec


def compose_config(project_dir: str | Path, overrides: list[str] | None = None) -> tuple[Spec, dict[str, str]]:
    """The validated spec and, for each config group, where its choice came from."""
    spec, comp = load_spec(Path(project_dir), overrides)
    return spec, {group: comp.choice_origin.get(group, "default") for group in comp.choices}


def check(project_dir: str | Path, overrides: list[str] | None = None, out: str | Path | None = None,
          generators: list[Generator[Any]] | None = None) -> tuple[list[Drift], Path]:
    """Regenerate in memory, without the step cache, and compare with the build dir (:mod:`mlready.engine.drift`:
    each drifted file with its unified diff and, for stale output, why: the spec, the model or data files, or
    mlready's code). Overrides default to the ones of the last build. The cache is bypassed so that an entry made
    by other code (an older mlready, a hand-edited generator) cannot make stale output look up to date."""
    from mlready.engine.drift import causes, compare

    project = Path(project_dir).resolve()
    out_dir = _resolve_out(project, out)
    recorded = Manifest.load(out_dir / MANIFEST)
    if overrides is None:
        overrides = list(recorded.spec.overrides)
    spec, the_plan, records = run(project, overrides, generators=generators, use_cache=False)
    bad = [r for r in records if not r.cache.ok]
    if bad:
        raise BuildFailed(_failure_text(records, project / ".mlready" / "failed-build"), [r.id for r in bad])
    now = build_manifest(spec, records)
    why = causes(spec, recorded, now.spec.digest, the_plan.inputs)
    return compare(out_dir, recorded, [a for r in records for a in r.artifacts], why), out_dir


# Operations with side effects (an image, a cluster, a server, the Model Registry): one module per action in
# mlready.engine.actions, imported when called. Builds above are pure until the writer; these act on the world.

def image(project_dir: str | Path, overrides: list[str] | None = None, *, push: bool = False, smoke: bool = True,
          no_cache: bool = False, out: str | Path | None = None, reporter: Reporter | None = None) -> ImageReport:
    """Build the project, then build its image through the Docker Engine API (``DOCKER_HOST``), smoke-test it
    (read-only, non-root, one prediction checked against onnxruntime), optionally push, and record it."""
    from mlready.engine.actions.image import build_and_check

    return build_and_check(project_dir, overrides, push=push, smoke=smoke, no_cache=no_cache, out=out,
                           reporter=reporter)


def deploy(build_dir: str | Path, env: str | None = None, *, context: str | None = None, dry_run: bool = False,
           wait: bool = True, timeout: float = 600.0, prune: bool = True) -> DeployResult:
    """Server-side apply ``<build_dir>/k8s/overlays/<env>`` (default: the env the build was made for)."""
    from mlready.engine.actions.deploy import built_env
    from mlready.engine.actions.deploy import deploy as apply_bundle

    build = Path(build_dir)
    return apply_bundle(build, env or built_env(build), context=context, dry_run=dry_run, wait=wait,
                        timeout=timeout, prune=prune)


def rollback(name: str, namespace: str, *, context: str | None = None, wait: bool = True,
             timeout: float = 600.0) -> RolloutStatus:
    """Return Deployment ``name`` to its previous revision (like ``kubectl rollout undo``)."""
    from mlready.engine.actions.rollback import rollback as undo

    return undo(name, namespace, context=context, wait=wait, timeout=timeout)


def serve(project_dir: str | Path = ".", out: str | Path | None = None, model_repository: str | Path | None = None,
          config_file: str | Path | None = None, host: str | None = None, http_port: int | None = None,
          grpc_port: int | None = None, metrics_port: int | None = None, *, grpc_off: bool = False,
          watch: bool = False) -> int:
    """Serve a project's built model (or a model repository) until interrupted; the server's exit code.
    ``grpc_off``: REST only. ``watch``: pick up every rebuild (else the build is served as a snapshot)."""
    from mlready.engine.actions.serve import serve as run_server

    return run_server(project_dir, out, model_repository, config_file, host, http_port, grpc_port, metrics_port,
                      grpc_off=grpc_off, watch=watch)


def promote(project_dir: str | Path, name: str, version: int | None, alias: str = "champion",
            tracking_uri: str | None = None, from_build: str | Path | None = None) -> Promotion:
    """Point ``name@alias`` at model ``version`` in the project's tracking store (or, with ``from_build``, at
    the registered version holding the model that build directory served)."""
    from mlready.engine.actions.promote import promote_in_project

    return promote_in_project(Path(project_dir), name, version, alias, tracking_uri,
                              Path(from_build) if from_build is not None else None)


def monitor(project_dir: str | Path, capture: str | Path, labels: str | Path | None = None, *, window: str = "1h",
            min_rows: int = 30, out: str | Path | None = None, report_dir: str | Path | None = None,
            overrides: list[str] | None = None) -> tuple[dict[str, Any], tuple[Path, Path]]:
    """Join ``capture`` with its labels — the feedback records in it and the label file ``labels`` (optional) —,
    score and drift-check each ``window`` against the training data, check the production gates; write
    monitor.json + monitor.html to ``report_dir`` (default <project>/monitor). Returns (the report, its two
    paths); MonitorInputError (exit 2) on bad input or no labels at all, nothing written then."""
    from mlready.engine.actions import monitor as mon
    from mlready.engine.actions.monitor_html import render_html
    from mlready.engine.actions.serve import built_model

    project = Path(project_dir).resolve()
    span = mon.parse_window(window)
    spec, _ = load_spec(project, overrides)
    signature = built_model(project, out).signature
    inputs = mon.load_inputs(spec, project, signature)
    frame, counts = mon.joined_rows(Path(capture), Path(labels) if labels is not None else None, inputs)
    report = mon.monitor(frame, counts, inputs, span, min_rows, window)
    html = render_html(report, f"{spec.project.name}: production monitor")
    target = Path(report_dir) if report_dir else project / "monitor"  # not in the build dir: check would flag it
    return report, mon.write_report(report, html, target)
