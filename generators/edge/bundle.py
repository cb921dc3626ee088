"""Step ``edge.bundle``: the ORT model (int8 when within budget), operator config, runner, size report.

    edge/bundle/model.ort           kind edge-model          the model the runner loads
    edge/bundle/model.json          kind edge-model-meta     inputs, the feature binding (CSV column -> input), outputs, variant
    edge/bundle/runner.py           kind edge-runner         the minimal runner (mlready.generators.edge.runner)
    edge/bundle/requirements.txt    kind edge-requirements   onnxruntime (the converting version) and numpy
    edge/required_operators.config  kind edge-operators      for a reduced-size onnxruntime build
    edge/variants/model.<v>.ort     kind edge-variant        the variant not shipped (for comparison)
    edge/report.json                kind edge-report         sizes, the size goal, the int8 verdict
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import numpy as np
from mlready.engine.errors import StepError
from mlready.engine.plugin import Artifact, StepContext
from mlready.generators.edge import budget, convert
from mlready.generators.model.ids import ONNX_MODEL, SIGNATURE

OUT = "edge"
LATENCY_NOTE = ("latency depends on the device: run `python runner.py <rows.csv> --benchmark 500` there "
                "(benchmarks/bench_edge.py runs it on the build host)")


def runner_source() -> str:
    return (files("mlready.generators.edge") / "runner.py").read_text(encoding="utf-8")


def requirements(header: str) -> str:
    import numpy
    import onnxruntime

    return (f"{header}onnxruntime=={onnxruntime.__version__}  # the converting version: reads this ORT format\n"
            f"numpy>={numpy.__version__.split('.')[0]}.0\n")


def binding(signature: dict) -> list[dict]:
    """The feature binding the runner reads CSV columns with: the signature's, else positional names."""
    from mlready.generators._shared.feeds import bind_features

    inputs = signature["inputs"]
    names = signature.get("feature_names") or [f"f{i}" for i in range(max(inputs[0]["shape"][-1], 0))]
    found = signature.get("features") or bind_features(inputs, names)
    if found is None:
        raise StepError("edge.bundle: cannot tell which CSV columns feed the inputs "
                        + ", ".join(f"{i['name']} ({i['datatype']})" for i in inputs))
    return found


def eval_data(ctx: StepContext, signature: dict) -> tuple[Any, np.ndarray] | None:
    """(rows, target) of data.eval: a float32 matrix, or the feature table of a per-column model."""
    from mlready.generators._shared.data import choose_features, read_table
    from mlready.generators._shared.feeds import per_column

    spec = ctx.spec
    if not spec.data.eval:
        return None
    frame = read_table(ctx.resolve(spec.data.eval), "data.eval")
    if per_column(signature.get("features")):
        names = [f["name"] for f in signature["features"]]
        return frame[choose_features(frame, "data.eval", spec.data.target, names, None)], frame[spec.data.target].to_numpy()
    features = choose_features(frame, "data.eval", spec.data.target, spec.data.features,
                               signature.get("feature_names"))
    return frame[features].to_numpy(dtype=np.float32), frame[spec.data.target].to_numpy()


def quantize(model_bytes: bytes, calib: np.ndarray, ctx: StepContext) -> bytes:
    """onnxruntime int8 dynamic quantization: the optimizer's ``int8_dynamic`` pass with its default settings."""
    import onnx
    from mlready.generators._shared.quantize import dynamic_int8

    model = onnx.load_model_from_string(model_bytes)
    return dynamic_int8(model, calib, ctx.scratch / "int8").SerializeToString(deterministic=True)


def build_bundle(ctx: StepContext) -> list[Artifact]:
    from mlready.generators._shared.onnx_model import PassSkipped

    cfg = ctx.spec.section("target.edge")
    fp32 = ctx.artifact(ONNX_MODEL).read_bytes()  # the served model: its step is this step's dependency
    signature = json.loads(ctx.artifact(SIGNATURE).read_text())
    inputs = signature["inputs"]
    bound = binding(signature)
    task = signature.get("task", "classification")
    data = eval_data(ctx, signature)
    matrix = len(inputs) == 1 and inputs[0]["datatype"] == "FP32" and all(f["index"] is not None for f in bound)

    variants = {"fp32": fp32}
    verdict = None
    int8_note = "int8: off (target.edge.int8)"
    if cfg.int8 == "auto" and not matrix:
        int8_note = ("int8 not applicable: the model takes " + ", ".join(f"{i['name']} ({i['datatype']})" for i in inputs)
                     + "; int8 dynamic quantization works on one FP32 matrix input")
    elif cfg.int8 == "auto" and data is None:
        int8_note = "int8 not tried: no data.eval to check the accuracy budget on"
    elif cfg.int8 == "auto" and data is not None:
        ctx.progress("int8 dynamic quantization")
        try:
            variants["int8"] = quantize(fp32, data[0][:64], ctx)
        except PassSkipped as exc:
            int8_note = f"int8 not applicable: {exc}"
        else:
            verdict = budget.judge(fp32, variants["int8"], data[0], data[1], task, signature.get("classes"), cfg)
            int8_note = ("int8 shipped: " if verdict.within else "int8 over budget, fp32 shipped: ") + verdict.reason
    chosen = "int8" if verdict is not None and verdict.within else "fp32"

    ctx.progress("converting to ORT format")
    orts = {v: convert.to_ort(b, ctx.scratch / "ort", f"model.{v}", cfg.optimization, cfg.type_reduction)
            for v, b in variants.items()}
    head = ctx.header("#")
    meta = {"model": "model.ort", "name": signature.get("name"), "version": signature.get("version"),
            "variant": chosen, "input": inputs[0]["name"], "features": [f["name"] for f in bound],
            "inputs": inputs, "binding": bound,
            "outputs": [o["name"] for o in signature.get("outputs", [])], "classes": signature.get("classes")}
    runner = head + runner_source()
    arts = [
        Artifact.file(f"{OUT}/bundle/model.ort", "edge-model", orts[chosen].path),
        Artifact.json(f"{OUT}/bundle/model.json", "edge-model-meta", meta),
        Artifact.text(f"{OUT}/bundle/runner.py", "edge-runner", runner, mode=0o755),
        Artifact.text(f"{OUT}/bundle/requirements.txt", "edge-requirements", requirements(head)),
        Artifact.text(f"{OUT}/required_operators.config", "edge-operators", head + orts[chosen].operators),
    ]
    arts += [Artifact.file(f"{OUT}/variants/model.{v}.ort", "edge-variant", o.path) for v, o in orts.items()
             if v != chosen]
    bundle_bytes = sum(len(a.read_bytes()) for a in arts if a.path.startswith(f"{OUT}/bundle/"))
    model_runner = orts[chosen].path.stat().st_size + len(runner.encode())
    report = {
        "variant": chosen,
        "int8": verdict.to_dict() if verdict else None,
        "int8_note": int8_note,
        "sizes_bytes": {"fp32_onnx": len(fp32), "bundle": bundle_bytes, "model_and_runner": model_runner,
                        **{f"{v}_ort": o.path.stat().st_size for v, o in orts.items()},
                        **({"int8_onnx": len(variants["int8"])} if "int8" in variants else {})},
        "size_goal": {"ratio": round(model_runner / len(fp32), 4), "goal": cfg.size_goal,
                      "met": model_runner <= cfg.size_goal * len(fp32),
                      "measure": "(model.ort + runner.py) / fp32 ONNX, onnxruntime itself excluded"},
        "operators": orts[chosen].operators.splitlines(),
        "latency": LATENCY_NOTE,
        "ort_bytes_repeatable": all(o.deterministic for o in orts.values()),
    }
    arts.append(Artifact.json(f"{OUT}/report.json", "edge-report", report))
    return arts
