"""``dvc.yaml`` as data: a ``train`` stage (when the spec says how to train) and a ``build`` stage.

The build stage runs ``mlready build`` with the overrides of the build that generated the pipeline (minus the
``pipeline`` ones, so ``dvc repro`` does not rewrite its own pipeline). Its dependencies are everything the
build reads: the model file (the train stage's output, which links the stages), the data files, the project's
local ``conf/`` groups and any extra paths; ``deploy.yaml`` is tracked as a params file, so DVC reruns the build
when a value changes (not when a comment does) and ``dvc params diff`` shows what changed. The readiness report
(and the optimization report when the optimizer runs) are the pipeline's metrics.

Paths are relative to the project root, where ``dvc.yaml`` belongs.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath
from typing import Any

from mlready.engine.plugin import Section
from mlready.generators._shared.facts import REGISTRY_SCHEMES
from pydantic import Field, field_validator

READINESS, OPTIMIZATION = "reports/readiness.json", "reports/optimization.json"
PARAMS_FILE = "deploy.yaml"


def _relative(value: str) -> str:
    p = PurePosixPath(value)
    if not value or p.is_absolute() or ".." in p.parts:
        raise ValueError(f"{value!r}: give a path relative to the project root, inside it")
    return p.as_posix()


def _relative_list(values: list[str]) -> list[str]:
    return [_relative(v) for v in values]


class TrainStageSpec(Section):
    cmd: str | None = Field(None, description="training command, e.g. 'python train.py'; unset: no train stage")
    deps: list[str] = Field(default_factory=list, description="inputs of training (scripts, data)")
    params: list[str] = Field(default_factory=list, description="params files tracked whole, e.g. params.yaml")
    outs: list[str] | None = Field(None, description="what training writes; default: model.source")

    _paths = field_validator("deps", "params")(classmethod(lambda cls, v: _relative_list(v)))
    _outs = field_validator("outs")(classmethod(lambda cls, v: v if v is None else _relative_list(v)))


class DvcSpec(Section):
    enabled: bool = False
    mlready: str = Field("mlready", description="how the stage calls mlready in your environment")
    overrides: list[str] | None = Field(
        None, description="overrides of the build stage; default: this build's, minus the pipeline group"
    )
    deps: list[str] = Field(default_factory=list, description="extra inputs of the build stage")
    out: str = Field("build", description="the build dir the stage writes (mlready build --out)")
    train: TrainStageSpec = Field(default_factory=TrainStageSpec)

    _deps = field_validator("deps")(classmethod(lambda cls, v: _relative_list(v)))
    _out = field_validator("out")(classmethod(lambda cls, v: _relative(v)))


def build_overrides(cfg: DvcSpec, spec_overrides: list[str]) -> list[str]:
    if cfg.overrides is not None:
        return list(cfg.overrides)

    def key(text: str) -> str:
        return text.lstrip("+~").split("=", 1)[0]

    return [o for o in spec_overrides if key(o) != "pipeline" and not key(o).startswith("pipeline.")]


def local_model(source: str) -> str | None:
    if source.startswith(REGISTRY_SCHEMES):
        return None
    try:
        return _relative(source)
    except ValueError:
        return None


def pipeline(
    cfg: DvcSpec,
    *,
    overrides: list[str],
    model_source: str,
    data_files: list[str],
    has_local_conf: bool,
    optimized: bool = False,
) -> dict[str, Any]:
    """The ``dvc.yaml`` document (plain data, stable order)."""
    stages: dict[str, Any] = {}
    model = local_model(model_source)
    if cfg.train.cmd:
        outs = cfg.train.outs if cfg.train.outs is not None else ([model] if model else [])
        train: dict[str, Any] = {"cmd": cfg.train.cmd}
        if cfg.train.deps:
            train["deps"] = list(cfg.train.deps)
        if cfg.train.params:
            train["params"] = [{p: None} for p in cfg.train.params]
        if outs:
            train["outs"] = list(outs)
        stages["train"] = train

    cmd = [cfg.mlready, "build", *build_overrides(cfg, overrides)]
    if cfg.out != "build":
        cmd += ["--out", cfg.out]
    deps = [*([model] if model else []), *data_files]
    if has_local_conf:
        deps.append("conf")
    deps.extend(cfg.deps)
    build: dict[str, Any] = {"cmd": shlex.join(cmd)}
    if deps:
        build["deps"] = list(dict.fromkeys(deps))
    build["params"] = [{PARAMS_FILE: None}]
    build["outs"] = [{cfg.out: {"cache": False}}]
    stages["build"] = build
    metrics = [READINESS, *([OPTIMIZATION] if optimized else [])]
    return {"stages": stages, "metrics": [f"{cfg.out}/{m}" for m in metrics]}
