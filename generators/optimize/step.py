"""The ``model.optimize`` step: build the candidates, measure them side by side, select, emit.

Emits ``model/model.onnx`` (kind ``onnx-model``: the chosen candidate, same input/output names and float32
IO as the baseline), ``model/providers.json`` (kind ``execution-providers``), and ``reports/optimization.json`` /
``reports/optimization.html`` (kind ``optimization-report``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import onnx
from mlready.engine.plugin import Artifact, StepContext
from mlready.generators._shared.onnx_model import annotate_types, facts
from mlready.generators.model.ids import MODEL_PATH, ONNX_BASELINE, ONNX_MODEL, SIGNATURE
from mlready.generators.optimize import data as opt_data
from mlready.generators.optimize import measure
from mlready.generators.optimize.html import render_html
from mlready.generators.optimize.ids import PROVIDERS_KIND, PROVIDERS_PATH, REPORT_KIND
from mlready.generators.optimize.passes import PassContext, PassSkipped, run_chain
from mlready.generators.optimize.providers import runtime_config
from mlready.generators.optimize.report import report_dict
from mlready.generators.optimize.select import Candidate, select

NO_KERNEL = re.compile(r"Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'")
NO_SCHEMA = re.compile(r"\(\"([^\"]*)\", (\w+), \"([^\"]*)\".*No Op registered for \w+ with domain_version of (\d+)")


def _io(model: onnx.ModelProto) -> list[tuple[str, int]]:
    return [(v.name, v.type.tensor_type.elem_type) for v in (*model.graph.input, *model.graph.output)]


def check_io(model: onnx.ModelProto, baseline: onnx.ModelProto) -> None:
    if _io(model) != _io(baseline):
        raise RuntimeError(f"inputs/outputs changed: {_io(model)} instead of {_io(baseline)}")


def explain_error(exc: Exception) -> str:
    """A failure reason that names the operator when onnxruntime has no kernel for it."""
    m = NO_KERNEL.search(str(exc))
    if m:
        return f"unsupported operator {m.group(1)!r} (opset {m.group(2)}, node {m.group(3)!r}): onnxruntime's CPU provider has no kernel for it"
    m = NO_SCHEMA.search(str(exc))
    if m:
        domain = m.group(3) or "ai.onnx"
        return f"unsupported operator {m.group(2)!r} (domain {domain}, opset {m.group(4)}, node {m.group(1)!r}): not an operator onnxruntime knows"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:400]


def finalize(model: onnx.ModelProto, name: str, row) -> bytes:
    """Deterministic bytes for a candidate: every tensor typed and shaped (OpenVINO's CPU plug-in refuses
    tensors of unknown rank behind ai.onnx.ml operators), one ``mlready.optimization`` metadata entry."""
    out = onnx.ModelProto()
    out.CopyFrom(annotate_types(model, row))
    out.producer_name, out.producer_version = out.producer_name or "mlready", out.producer_version or ""
    del out.metadata_props[:]
    out.metadata_props.extend(
        [*[p for p in model.metadata_props if not p.key.startswith("mlready.")],
         onnx.StringStringEntryProto(key="mlready.optimization", value=name)]
    )
    return out.SerializeToString(deterministic=True)


MATRIX_FREE = {"graph"}  # passes that need no float matrix input (no calibration rows, no quantized weights)


def matrix_only(candidate: str, d: opt_data.OptimizeData, baseline: onnx.ModelProto) -> str | None:
    """Why a candidate cannot apply to a model with one input per column, or None when it can."""
    if d.binding is None:
        return None
    needs = [p for p in candidate.split("+") if p not in MATRIX_FREE]
    if not needs:
        return None
    shown = ", ".join(
        f"{i.name} {onnx.TensorProto.DataType.Name(i.type.tensor_type.elem_type).lower()}"
        for i in baseline.graph.input[:6]
    )
    more = f", … ({len(baseline.graph.input)} in all)" if len(baseline.graph.input) > 6 else ""
    return (
        f"{needs[0]} does not apply: the model takes one input per column ({shown}{more}); it works on one "
        "float matrix input (calibration rows, quantized or pruned MatMul/Gemm weights)"
    )


def build_candidates(
    baseline: onnx.ModelProto, pctx: PassContext, names: list[str], progress, d: opt_data.OptimizeData
) -> list[Candidate]:
    row = {k: v[:1] for k, v in d.calib_feeds.items()}
    cands = [Candidate("baseline", model=finalize(baseline, "baseline", row), reason="the fp32 model as ingested")]
    for i, name in enumerate(names):
        progress(f"building candidate {name}", i / max(1, len(names)))
        why = matrix_only(name, d, baseline)
        if why:  # listed in the report with the reason, never dropped
            cands.append(Candidate(name, status="skipped", reason=why))
            continue
        try:
            model = run_chain(name, baseline, pctx)
            check_io(model, baseline)
            cands.append(Candidate(name, model=finalize(model, name, row), reason=model.doc_string or ""))
        except PassSkipped as exc:
            cands.append(Candidate(name, status="skipped", reason=str(exc)))
        except Exception as exc:  # a pass that breaks must not break the build: it is reported
            cands.append(Candidate(name, status="failed", reason=explain_error(exc)))
    return cands


def measure_candidates(cands: list[Candidate], d: opt_data.OptimizeData, task: str, cfg, ctx) -> float | None:
    sessions: dict[str, Any] = {}
    reference = None
    for c in cands:
        if c.status != "built":
            continue
        try:
            sess = measure.session(c.built_model())
            c.quality, outs = measure.quality(sess, d, task, reference)
        except Exception as exc:
            if c.name == "baseline":
                raise
            c.status, c.reason, c.model = "failed", explain_error(exc), None
            continue
        if c.name == "baseline":
            reference = outs
        sessions[c.name] = sess
    for name, t in measure.timings(sessions, d.eval_feeds, cfg.measure, ctx.progress).items():
        next(c for c in cands if c.name == name).timing = t
    if not cfg.measure.memory:
        return None
    for c in cands:
        if c.status == "built":
            path = ctx.scratch / f"measure-{c.name}.onnx"
            path.write_bytes(c.model)
            c.peak_rss_mb = measure.peak_rss_mb(path, cfg.measure.throughput_batch)
    return measure.peak_rss_mb(None, cfg.measure.throughput_batch)


def optimize(ctx: StepContext) -> list[Artifact]:
    spec = ctx.spec
    cfg = spec.section("optimize")
    sig = json.loads(ctx.artifact(SIGNATURE).read_text())
    baseline = onnx.load_model_from_string(ctx.artifact(ONNX_BASELINE).read_bytes())
    task = sig.get("task", "classification")
    d = opt_data.load(spec, sig)
    pctx = PassContext(cfg, baseline, d.calib, task, ctx.scratch / "passes", d.calib_source)
    cands = build_candidates(baseline, pctx, cfg.planned(), ctx.progress, d)
    ctx.progress("measuring candidates", None)
    memory_ref = measure_candidates(cands, d, task, cfg, ctx)
    winner, headline = select(cands, cfg)
    runtime = runtime_config(cfg.providers)
    report = report_dict(cfg, cands, winner, headline, facts(baseline), d, memory_ref, runtime)
    return [
        Artifact.from_bytes(MODEL_PATH, ONNX_MODEL, winner.built_model()),
        Artifact.json(PROVIDERS_PATH, PROVIDERS_KIND, runtime),
        Artifact.json("reports/optimization.json", REPORT_KIND, report),
        Artifact.text("reports/optimization.html", REPORT_KIND, render_html(report)),
    ]
