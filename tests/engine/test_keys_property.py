"""The cache key cannot go stale: walk every spec leaf, change it, and check that a step whose key did not
change produces the same bytes.

One real build of a project with every generator switched on is the baseline. For each leaf of every section
(the core ones and every generator's), the leaf is set to another valid value (the whole spec re-validated,
generator checks included) and the build re-planned: for each step whose key is unchanged, the step is run
again on the changed spec and its artifacts must be byte-identical to the baseline's. Steps that take seconds
(evaluation, optimisation, the Docker context, the edge bundle) are only walked over their own section's
leaves, where their key always changes, so they are not re-run.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
from mlready.engine import registry
from mlready.engine.cache import StepCache
from mlready.engine.errors import SpecProblem
from mlready.engine.execute import NullReporter, execute
from mlready.engine.graph import Plan, plan
from mlready.engine.load import load_spec
from mlready.engine.spec import CORE_SECTIONS, Spec, spec_model
from pydantic import BaseModel, ValidationError

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"

pytestmark = pytest.mark.slow

EVERYTHING = [
    "+target=[docker,k8s,kserve,compose,edge,sagemaker,azureml,vertex,batch]",
    "+ci=[gitlab,github,circleci,jenkins]",
    "+monitoring=[grafana,prometheus]",
    "+pipeline=dvc",
    "target.docker.registry=registry.example.com/ml",
    # every batch platform, with locations whose variants stay valid (a walk that skips a leaf checks nothing)
    "target.batch.platforms=[k8s,sagemaker,vertex,azureml]", "target.batch.input=pvc://data/in/",
    "target.batch.k8s.input=pvc://data/daily/", "target.batch.sagemaker.input=s3://b/in/",
    "target.batch.sagemaker.output=s3://b/out/", "target.batch.vertex.input=gs://b/in.jsonl",
    "target.batch.vertex.output=gs://b/out/", "target.batch.azureml.input=azureml://datastores/d/paths/in/",
    "target.batch.azureml.output=azureml://datastores/d/paths/out/",
]
#: steps that take seconds: walked over their own section only
EXPENSIVE = {"model.readiness", "model.optimize", "docker.context", "edge.bundle"}
#: leaves whose variants would need files or services the tiny project does not have
NOT_WALKED = {"model.source", "model.format", "model.trainer", "data.eval", "data.train", "data.sample",
              "tracking.store", "tracking.uri"}


def leaves(node: BaseModel, prefix: str) -> list[tuple[str, Any, Any]]:
    """(dotted path, value, annotation) of every leaf under a section (models inside dicts walked too)."""
    out = []
    for name, info in type(node).model_fields.items():
        value = getattr(node, name)
        path = f"{prefix}.{name}"
        if isinstance(value, BaseModel):
            out += leaves(value, path)
        elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            for key, sub in value.items():
                out += leaves(sub, f"{path}.{key}")
        else:
            out.append((path, value, info.annotation))
    return out


def candidates(value: Any, annotation: Any) -> list[Any]:
    """Other values to try for a leaf, most likely valid first."""
    literal = [a for a in _flat_args(annotation) if not isinstance(a, type)]
    if literal:
        return [a for a in literal if a != value]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, value * 2, 1, 0]
    if isinstance(value, float):
        return [value + 0.5, value / 2, value * 2, 0.5, 1.0, 0.0]
    if isinstance(value, str):
        return [value + "x", value + "-x", "x", value[:-1], "1m", "a.example.com"]
    if isinstance(value, list):
        return [value[:-1], [*value, value[0]] if value else ["x"], [1], [{"name": "x"}]]
    if isinstance(value, dict):
        return [{**value, "x": 1}, {**value, "x": "y"}, {}]
    return ["x", 1, 1.0, True, ["x"], {"x": 1}]  # None: whatever the annotation takes


def _flat_args(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        return [a for arg in typing.get_args(annotation) for a in _flat_args(arg)]
    return []


def _set(tree: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return tree


def variant(spec: Spec, gens: list, path: str, value: Any, annotation: Any) -> Spec | None:
    """The spec with ``path`` set to another valid value, or None when no candidate is valid."""
    model = spec_model(gens)
    for candidate in candidates(value, annotation):
        try:
            root = model.model_validate(_set(spec.to_dict(), path, candidate))
        except ValidationError:
            continue
        new = Spec(root, project_dir=spec.project_dir, choices=spec.choices, overrides=spec.overrides)
        if _lookup(new, path) == value:
            continue
        problems: list[SpecProblem] = [p for g in gens if g.enabled(new) for p in g.validate(new)]
        if not problems:
            return new
    return None


def _lookup(spec: Spec, path: str) -> Any:
    node: Any = spec.section(path.split(".")[0])
    for part in path.split(".")[1:]:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def _rerun(base: Plan, new: Plan, spec: Spec, step_id: str, cache: Path) -> dict[str, bytes]:
    """Run ``step_id`` of ``new`` on ``spec`` (its upstream steps come from the cache, where the baseline put
    them under the same keys); return its artifacts' bytes."""
    by_id = new.by_id()
    wanted = {step_id}
    todo = [step_id]
    while todo:
        for dep in by_id[todo.pop()].step.deps:
            if dep not in wanted:
                wanted.add(dep)
                todo.append(dep)
    sub = Plan(tuple(p for p in new.steps if p.step.id in wanted))
    (cache / "steps" / f"{by_id[step_id].key}.json").unlink()  # the step itself must run
    records = execute(sub, spec, cache, NullReporter(), jobs=1)
    rec = next(r for r in records if r.id == step_id)
    assert rec.cache.ok, f"{step_id}: {rec.error}"
    return {a.path: a.read_bytes() for a in rec.artifacts}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    project = root / "proj"
    (project / "data").mkdir(parents=True)
    for rel in ("model.joblib", "data/eval.csv", "data/train.csv"):
        (project / rel).write_bytes((QUICKSTART / rel).read_bytes())
    (project / "deploy.yaml").write_text("project: {name: demo}\nmodel: {source: model.joblib}\n"
                                         "data: {eval: data/eval.csv, train: data/train.csv}\n")
    cache = root / "cache"
    gens = list(registry.generators())
    spec, _ = load_spec(project, EVERYTHING, gens)
    the_plan = plan(spec, gens)
    records = execute(the_plan, spec, cache, NullReporter())
    assert all(r.cache.ok for r in records), [(r.id, r.error) for r in records if not r.cache.ok]
    outputs = {r.id: {a.path: a.read_bytes() for a in r.artifacts} for r in records}
    return spec, gens, the_plan, outputs, cache


def test_an_unchanged_key_means_unchanged_output_for_every_leaf(baseline, monkeypatch):
    monkeypatch.setenv("MLREADY_TRACKING", "0")
    spec, gens, base_plan, outputs, cache = baseline
    owner = {p.step.id: p.generator for p in base_plan.steps}
    sections = {g.name: g.section for g in gens}
    walked = checked = changed_keys = 0
    skipped: list[str] = []
    stale: list[str] = []
    paths = sorted({*CORE_SECTIONS, *(g.section for g in gens)})
    for section in paths:
        node = spec.optional_section(section)
        if node is None:
            continue
        for path, value, annotation in leaves(node, section):
            if path in NOT_WALKED:
                continue
            new_spec = variant(spec, gens, path, value, annotation)
            if new_spec is None:
                skipped.append(path)
                continue
            walked += 1
            new_plan = plan(new_spec, gens)
            base_keys = {p.step.id: p.key for p in base_plan.steps}
            for p in new_plan.steps:
                sid = p.step.id
                if sid not in base_keys:
                    continue
                if base_keys[sid] != p.key:
                    changed_keys += 1
                    continue
                own = path == sections[owner[sid]] or path.startswith(sections[owner[sid]] + ".")
                assert not own, f"{sid}: changing {path} (its own section) left its key unchanged"
                if sid in EXPENSIVE:
                    continue
                checked += 1
                if _rerun(base_plan, new_plan, new_spec, sid, cache) != outputs[sid]:
                    stale.append(f"{sid} output changed with {path} but its key did not")
    assert not stale, "\n".join(stale)
    # the walk is not vacuous: most leaves got a valid variant, keys moved, unchanged steps were re-run
    assert walked > 150 and changed_keys > walked and checked > walked, (walked, changed_keys, checked, skipped)
    assert len(skipped) < walked / 5, skipped


def test_a_new_mlready_version_invalidates_every_key(baseline, monkeypatch):
    spec, gens, base_plan, _, _ = baseline
    monkeypatch.setattr("mlready.engine.version.mlready_version", lambda: "999.0.0")
    new_keys = {p.step.id: p.key for p in plan(spec, gens).steps}
    assert len(new_keys) == len(base_plan.steps) > 15
    assert all(new_keys[p.step.id] != p.key for p in base_plan.steps)


def test_cached_steps_are_still_served_when_nothing_changed(baseline):
    spec, gens, base_plan, _, cache = baseline
    again = plan(spec, gens)
    assert [p.key for p in again.steps] == [p.key for p in base_plan.steps]
    store = StepCache(cache)
    assert all(store.get(p.key) is not None for p in again.steps if p.step.cacheable)
