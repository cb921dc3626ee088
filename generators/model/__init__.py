"""The ``model`` generator: ``model.ingest`` turns the spec's model source into a checked ONNX model.

Formats (``model.format``, or told from the file name): ONNX files, scikit-learn estimators/pipelines saved
with joblib (converted with skl2onnx), PyTorch modules and ``module:function`` trainers (see formats.py).
The step checks the model loads and runs in onnxruntime on sample rows of the evaluation data and emits:

- ``model/model.onnx`` (kind ``onnx-model``) — or ``model/baseline.onnx`` (kind ``onnx-baseline``) when the
  optimizer is active, which then emits the served ``model/model.onnx``;
- ``model/signature.json`` (kind ``model-signature``): names, datatypes and shapes, classes, feature names.
"""

from __future__ import annotations

from pathlib import Path

from mlready.engine import formats as format_registry  # "formats" is bound by the submodule formats.py
from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Generator, Step
from mlready.engine.spec import ModelSpec
from mlready.generators._shared.facts import (
    REGISTRY_SCHEMES,
    optimization_active,
    source_reads,
    trainer_inputs,
)
from mlready.generators._shared.source import (
    TRAINER,
    content_hint,
    detect,
    local_source,
    resolve_source,
    source_exists,
)
from mlready.generators.model.formats import ingest_tools, known_suffixes
from mlready.generators.model.ids import INGEST_STEP


def _not_a_model(path: Path, fmt: str) -> str:
    if not path.is_dir():
        return f"model file not found: {path}"
    marked = format_registry.by_directory(path)
    hint = (f" ({path.name} is a {marked.title or marked.name} directory: model.format {marked.name} or auto)"
            if marked is not None else "")
    return f"{path} is a directory; the {fmt} format reads a model file{hint}"


def _unknown_format(path: Path, source: str) -> str:
    if not path.is_file():  # a missing file (a directory is told by its marker files)
        return f"cannot tell the format of {source!r} (known suffixes: {known_suffixes()}); set model.format"
    known = f"cannot tell the format of {source!r} from its name (known suffixes: {known_suffixes()})"
    hint = content_hint(path, None)
    if hint is not None:
        return f"{known}; {hint}"
    names = ", ".join(n for n in sorted(format_registry.formats()) if n not in (TRAINER, "tensorflow"))
    return (f"{known}, nor from its content; if it is a model in one of the formats mlready reads ({names}), "
            "set model.format; otherwise export the model to ONNX and name it .onnx")


class ModelGenerator(Generator[ModelSpec]):
    name = "model"
    section = "model"
    config_model = ModelSpec  # the core section (engine/spec.py): this generator adds no keys of its own
    description = "Ingest the model: load, convert to ONNX, check it runs (model.ingest)"

    def validate(self, spec) -> list[SpecProblem]:
        problems = []
        m = spec.model
        source = m.source
        fmt = detect(m.format, source, m.trainer, local_source(spec))
        if fmt is None and not source.startswith(REGISTRY_SCHEMES):
            problems.append(SpecProblem("", "model.source", _unknown_format(spec.resolve(source), source)))
        elif fmt is not None and fmt != TRAINER and not source.startswith(REGISTRY_SCHEMES):
            path = spec.resolve(source)
            hint = content_hint(path, fmt) if m.format == format_registry.AUTO else None
            if not source_exists(fmt, path):
                problems.append(SpecProblem("", "model.source", _not_a_model(path, fmt)))
            elif hint is not None:
                title = format_registry.formats()[fmt].title or fmt
                problems.append(SpecProblem("", "model.source", f"{source!r} is named like a {title} model, "
                                            f"but {hint}"))
        decl = format_registry.formats().get(fmt) if fmt is not None else None
        if decl is not None and decl.missing():
            key = "model.format" if m.format != format_registry.AUTO else "model.source"
            problems.append(SpecProblem("", key, f"the {decl.title or fmt} format needs "
                                        f"{', '.join(decl.missing())}, which is not installed: {decl.install}"))
        if fmt == TRAINER and not m.trainer:
            problems.append(SpecProblem("", "model.trainer", "format 'trainer' needs model.trainer: 'module:function'"))
        if m.trainer and ":" not in m.trainer:
            problems.append(SpecProblem("", "model.trainer", f"expected 'module:function', got {m.trainer!r}"))
        for key in ("eval", "train", "sample"):
            value = getattr(spec.data, key)
            if value and not spec.resolve(value).is_file():
                problems.append(SpecProblem("", f"data.{key}", f"data file not found: {spec.resolve(value)}"))
        return problems

    def steps(self, spec) -> list[Step]:
        inputs: list[Path] = []
        path = resolve_source(spec)
        if path is not None:
            inputs.append(path)
        if spec.data.eval:
            inputs.append(spec.resolve(spec.data.eval))
        inputs.extend(trainer_inputs(spec))
        trains = bool(spec.model.trainer and spec.data.train)  # a trainer fits on data.train
        if trains:
            inputs.append(spec.resolve(spec.data.train))
        config = {
            "model": spec.model.model_dump(mode="json"),
            "name": spec.model_name,
            "data": {"eval": spec.data.eval, "target": spec.data.target, "features": spec.data.features},
            "optimized": optimization_active(spec),
        }
        tools = ingest_tools(spec.model, path)
        return [
            Step(
                id=INGEST_STEP,
                run="mlready.generators.model.ingest:ingest",
                config=config,
                reads=("data.eval", "data.features", "data.target", "project.name", "optimize.active",
                       *(("data.train",) if trains else ()), *source_reads(spec)),
                inputs=tuple(inputs),
                tools=tools,
                header=False,
                description="load the model, convert it to ONNX, run it on sample rows",
            )
        ]
