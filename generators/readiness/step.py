"""The ``model.readiness`` step: gather the served model, the source model and the data, assess, report.

A failed gate raises :class:`StepError` carrying both reports and the gate table, so the build exits 1 and
the reports stay in the build dir for inspection.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mlready.engine.errors import StepError
from mlready.engine.plugin import Artifact, StepContext
from mlready.generators._shared.gates import GateResult, gate_table, task_problems
from mlready.generators.model.ids import ONNX_MODEL, SIGNATURE
from mlready.generators.readiness.assess import Champion, DataPaths, ModelUnderTest, assess
from mlready.generators.readiness.html import render_html
from mlready.generators.readiness.signature_check import fixed_batch_notes, signature_problems

JSON_PATH, HTML_PATH, KIND = "reports/readiness.json", "reports/readiness.html", "readiness-report"


def rounded(obj: Any, digits: int = 6) -> Any:
    """Floats to ``digits`` significant digits, recursively: reports stay stable across BLAS thread counts."""
    if isinstance(obj, float):
        return obj if not math.isfinite(obj) else float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rounded(v, digits) for v in obj]
    return obj


def _source(ctx: StepContext, fmt: str) -> tuple[Any, Any, bool, str, list[str]]:
    """(source predictor, refit function, refit takes a DataFrame, kind, notes) for parity and CV."""
    from mlready.engine import formats
    from mlready.generators._shared.source import load_source, sample_rows

    decl = formats.get(fmt)
    if not decl.source_model:
        return None, None, False, fmt, [f"served as given ({decl.title} file): no source model to compare or refit"]
    ctx.progress("loading the source model for parity and cross-validation", 0.02)
    src = load_source(ctx.spec, lambda: sample_rows(ctx))  # rows read only if ingest's model is not at hand
    est = src.estimator
    kind = f"{fmt} {type(getattr(est, 'module', est)).__name__}" if est is not None else fmt
    refitter = decl.refitter()
    refit = refitter(ctx.spec, src) if refitter is not None else None
    if refit is not None:
        fit, wants_frame = refit
        return est, fit, wants_frame, kind, src.notes
    return est, None, False, kind, src.notes


def _champion(ctx: StepContext, uri: str) -> Champion:
    """Fetch the ONNX model behind ``readiness.compare_to`` from the project's registry (a registered build's
    served model); a name, alias or version that does not exist is an error at that key, listing what exists."""
    from mlready.engine.lifecycle.registry import RegistryLookupError, fetch_model, parse_model_uri
    from mlready.engine.lifecycle.store import STATE_DIR, bounded_http, open_client, store_from_spec

    key = "readiness.compare_to"
    ctx.progress(f"fetching the champion {uri}", 0.01)
    store = store_from_spec(ctx.spec)
    try:
        with bounded_http(store.timeout):
            path, prov = fetch_model(open_client(store), store, parse_model_uri(uri),
                                     Path(ctx.spec.project_dir) / STATE_DIR / "models")
    except RegistryLookupError as exc:
        raise StepError(f"{ctx.where(key)} {key}: {exc}".lstrip()) from None
    if path.suffix != ".onnx":
        raise StepError(f"{ctx.where(key)} {key}: {uri} is a {path.name}, not an ONNX model: compare with a "
                        "version an mlready build registered (it registers the served model/model.onnx)".lstrip())
    return Champion(uri=uri, version=prov.get("version", ""), onnx=path.read_bytes())


def run(ctx: StepContext) -> list[Artifact]:
    from mlready.generators._shared.source import detect, local_source

    spec, cfg = ctx.spec, ctx.spec.section("readiness")
    # the served model (its step is this step's dependency) and the signature model.ingest wrote
    onnx_bytes = ctx.artifact(ONNX_MODEL).read_bytes()
    sig = json.loads(ctx.artifact(SIGNATURE).read_text())
    task = sig.get("task", spec.model.task)
    wrong = task_problems(list(cfg.gates), list(cfg.sample.gates), task)
    if wrong:  # model.task: auto is decided when the model is loaded: the spec's gates are checked against it now
        raise StepError(
            f"readiness: {len(wrong)} gate{'s' if len(wrong) > 1 else ''} in the spec name{'' if len(wrong) > 1 else 's'}"
            f" a metric this {task} model does not produce (set model.task: {task} to have `mlready validate` "
            "catch this)",
            details="\n".join(f"{ctx.where(key)} {key}: {why}".lstrip() for key, why in wrong),
        )
    declared = [t.model_dump() for t in spec.model.inputs] if spec.model.inputs else None
    mismatch = signature_problems(declared, sig.get("inputs", []))
    if mismatch:
        raise StepError(
            "model.readiness: the served model's inputs differ from model.inputs",
            details="\n".join(mismatch),
        )
    fmt = detect(spec.model.format, spec.model.source, spec.model.trainer, local_source(spec)) or "sklearn"
    needs_source = bool(spec.data.eval) and cfg.parity or cfg.cv.folds > 0
    source, fit, wants_frame, kind, notes = (
        _source(ctx, fmt) if needs_source else (None, None, False, fmt, [])
    )
    first: dict[str, Any] = sig["inputs"][0] if sig.get("inputs") else {"name": spec.model.input_name, "shape": []}
    width = first["shape"][1] if len(first["shape"]) == 2 and first["shape"][1] > 0 else None
    if len(sig.get("inputs", [])) > 1:  # one input per column: the data is checked column by column
        width = None
    model = ModelUnderTest(
        onnx=onnx_bytes,
        task=task,
        name=spec.model_name,
        version=spec.model.version,
        classes=sig.get("classes"),
        class_names=sig.get("class_names"),
        feature_names=sig.get("feature_names"),
        input_name=first["name"],
        input_datatype=first.get("datatype", "FP32"),
        n_features=width,
        source=source,
        fit=fit,
        fit_wants_frame=wants_frame,
        kind=kind,
        notes=notes + fixed_batch_notes(sig.get("inputs", [])),
        features=sig.get("features"),
    )

    def path(key: str) -> tuple[str, Any] | None:
        value = getattr(spec.data, key)
        return (value, ctx.resolve(value)) if value else None

    data = DataPaths(
        eval=path("eval"),
        train=path("train"),
        sample=path("sample"),
        target=spec.data.target,
        features=spec.data.features,
    )
    champion = _champion(ctx, cfg.compare_to) if cfg.compare_to else None
    report = rounded(assess(model, data, cfg, ctx.progress, champion))
    ctx.progress("writing the reports", 0.98)
    artifacts = [Artifact.json(JSON_PATH, KIND, report), Artifact.text(HTML_PATH, KIND, render_html(report))]
    if report["status"] == "failed":
        raise StepError(
            f"readiness: {report['summary']['failed']} of {report['summary']['gates']} gates failed "
            f"(see {HTML_PATH})",
            artifacts=artifacts,
            details=_tables(report),
        )
    return artifacts


def _results(gates: list[dict[str, Any]]) -> list[GateResult]:
    return [GateResult.from_json(g) for g in gates]


def _tables(report: dict[str, Any]) -> str:
    parts = []
    if report["gates"]:
        parts.append(
            gate_table(_results(report["gates"]), f"gates on {report['eval'].get('data') or 'no data'}:")
        )
    if report["sample"]["gates"]:
        parts.append(
            gate_table(_results(report["sample"]["gates"]), f"gates on {report['sample'].get('data')}:")
        )
    return "\n\n".join(parts)
