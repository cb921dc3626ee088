"""Running a plan: cache lookups, concurrent execution of independent steps, failure propagation."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from mlready.engine.cache import StepCache
from mlready.engine.errors import StepError, TemplateError
from mlready.engine.graph import Plan, PlannedStep, header_text
from mlready.engine.manifest import CacheState, StepEntry
from mlready.engine.plugin import Artifact, StepContext
from mlready.engine.spec import Spec
from mlready.engine.specview import SpecView


class Reporter(Protocol):
    def start(self, total: int) -> None: ...
    def step_started(self, step_id: str, description: str) -> None: ...
    def step_progress(self, step_id: str, message: str, fraction: float | None) -> None: ...
    def step_finished(self, record: StepRecord) -> None: ...
    def stop(self) -> None: ...


class NullReporter:
    def start(self, total: int) -> None: ...
    def step_started(self, step_id: str, description: str) -> None: ...
    def step_progress(self, step_id: str, message: str, fraction: float | None) -> None: ...
    def step_finished(self, record: StepRecord) -> None: ...
    def stop(self) -> None: ...


@dataclass
class StepRecord:
    id: str
    key: str
    generator: str
    cache: CacheState = CacheState.PENDING
    seconds: float = 0.0
    artifacts: list[Artifact] = field(default_factory=list)
    error: str = ""
    details: str = ""

    def manifest_entry(self) -> StepEntry:
        return StepEntry(id=self.id, key=self.key, cache=self.cache, seconds=round(self.seconds, 3),
                         error=self.error or None)


@cache
def _jinja_env() -> Any:
    from importlib.resources import files

    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(files("mlready.templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


class _Context(StepContext):
    def __init__(self, planned: PlannedStep, spec: Spec, records: dict[str, StepRecord],
                 plan_by_id: dict[str, PlannedStep], scratch: Path, reporter: Reporter):
        self.spec = SpecView(spec, planned.step.reads, planned.step.id)  # type: ignore[assignment]
        self._full_spec = spec
        self.project_dir = spec.project_dir
        self.scratch = scratch
        self._planned = planned
        self._records = records
        self._plan = plan_by_id
        self._reporter = reporter

    def upstream(self, step_id: str) -> list[Artifact]:
        if step_id not in self._planned.step.deps:
            raise StepError(f"step {self._planned.step.id} reads {step_id} without declaring it as a dependency")
        return list(self._records[step_id].artifacts)

    def _ancestors(self) -> list[str]:
        """Upstream step ids, nearest first (breadth-first)."""
        seen: list[str] = []
        frontier = list(self._planned.step.deps)
        while frontier:
            nxt: list[str] = []
            for sid in sorted(frontier):
                if sid not in seen:
                    seen.append(sid)
                    nxt.extend(self._plan[sid].step.deps)
            frontier = nxt
        return seen

    def artifacts(self, kind: str) -> list[Artifact]:
        return [a for sid in self._ancestors() for a in self._records[sid].artifacts if a.kind == kind]

    def artifact(self, kind: str) -> Artifact:
        for sid in self._ancestors():  # nearest producer wins
            found = [a for a in self._records[sid].artifacts if a.kind == kind]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise StepError(f"step {self._planned.step.id}: {sid} produced several {kind!r} artifacts")
        raise StepError(f"step {self._planned.step.id}: no upstream step produced a {kind!r} artifact")

    def progress(self, message: str, fraction: float | None = None) -> None:
        self._reporter.step_progress(self._planned.step.id, message, fraction)

    def header(self, comment: str = "#") -> str:
        return header_text(self._full_spec, comment)  # the header text is in the key (Step.header)

    def render(self, template: str, **context: Any) -> str:
        import jinja2

        if template not in self._planned.step.templates:
            raise TemplateError(f"step {self._planned.step.id} renders {template} without declaring it in templates")
        try:
            text: str = _jinja_env().get_template(template).render(**context)
            return text
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {template}: {exc}") from exc

    def resolve(self, path: str | Path) -> Path:
        return self._full_spec.resolve(path)

    def where(self, key: str) -> str:  # a location for a message: not an input, so not in the key
        return self._full_spec.where(key)


def _check_artifacts(step_id: str, arts: list[Artifact], claimed: dict[str, str]) -> None:
    if not isinstance(arts, list) or not all(isinstance(a, Artifact) for a in arts):
        raise StepError(f"step {step_id} must return a list of Artifact")
    for a in arts:
        if a.path in claimed:
            raise StepError(f"step {step_id} writes {a.path}, already written by {claimed[a.path]}")
        claimed[a.path] = step_id


def execute(plan: Plan, spec: Spec, cache_dir: Path, reporter: Reporter, jobs: int | None = None,
            use_cache: bool = True) -> list[StepRecord]:
    step_cache = StepCache(cache_dir)
    by_id = plan.by_id()
    records: dict[str, StepRecord] = {
        p.step.id: StepRecord(p.step.id, p.key, p.generator) for p in plan.steps
    }
    claimed: dict[str, str] = {}
    scratch_root = Path(tempfile.mkdtemp(prefix="mlready-steps-"))
    pending = dict(by_id)
    running: dict[Future[StepRecord], str] = {}
    debug = bool(os.environ.get("MLREADY_DEBUG"))
    reporter.start(len(plan.steps))

    def run_one(planned: PlannedStep) -> StepRecord:
        rec = records[planned.step.id]
        t0 = time.perf_counter()
        if use_cache and planned.step.cacheable:
            cached = step_cache.get(planned.key)
            if cached is not None:
                rec.artifacts, rec.cache = cached, CacheState.HIT
                rec.seconds = time.perf_counter() - t0
                return rec
        reporter.step_started(planned.step.id, planned.step.description)
        scratch = scratch_root / planned.step.id
        scratch.mkdir(parents=True)
        ctx = _Context(planned, spec, records, by_id, scratch, reporter)
        try:
            arts = planned.step.body()(ctx)
            rec.artifacts = step_cache.put(planned.key, planned.step.id, arts)  # lookups skip non-cacheable
            rec.cache = CacheState.MISS
        except StepError as exc:
            rec.cache, rec.error, rec.details = CacheState.FAILED, str(exc), exc.details
            kept = [a for a in exc.artifacts if isinstance(a, Artifact)]
            rec.artifacts = step_cache.put(f"failed-{planned.key}", planned.step.id, kept) if kept else []
        except Exception as exc:  # a bug in a step: report it as that step's failure
            if debug:
                traceback.print_exc()
            first = str(exc).strip().split("\n")[0]
            rec.cache, rec.error = CacheState.FAILED, f"internal error: {type(exc).__name__}: {first}"
        rec.seconds = time.perf_counter() - t0
        return rec

    workers = jobs or min(4, os.cpu_count() or 2)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlready-step") as pool:
            while pending or running:
                for sid in sorted(pending):
                    planned = pending[sid]
                    states = [records[d].cache for d in planned.step.deps]
                    if any(s in (CacheState.FAILED, CacheState.SKIPPED) for s in states):
                        records[sid].cache = CacheState.SKIPPED
                        bad = [d for d in planned.step.deps
                               if records[d].cache in (CacheState.FAILED, CacheState.SKIPPED)]
                        records[sid].error = f"skipped: {', '.join(bad)} did not succeed"
                        del pending[sid]
                        reporter.step_finished(records[sid])
                    elif all(s.ok for s in states):
                        running[pool.submit(run_one, planned)] = sid
                        del pending[sid]
                if not running:
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    sid = running.pop(fut)
                    fut.result()
                    if records[sid].cache.ok:
                        try:
                            _check_artifacts(sid, records[sid].artifacts, claimed)
                        except StepError as exc:
                            records[sid].cache, records[sid].error = CacheState.FAILED, str(exc)
                    reporter.step_finished(records[sid])
    finally:
        reporter.stop()
        shutil.rmtree(scratch_root, ignore_errors=True)
    return [records[p.step.id] for p in plan.steps]
