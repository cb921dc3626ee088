"""The ``model.ingest`` step."""

from __future__ import annotations

from typing import Any

import numpy as np
from mlready.engine.plugin import Artifact, StepContext
from mlready.generators.model.ids import (
    BASELINE_PATH,
    MODEL_PATH,
    ONNX_BASELINE,
    ONNX_MODEL,
    SIGNATURE,
    SIGNATURE_PATH,
)
from mlready.generators.model.source import ModelSourceError, signature


def _zeros(inputs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """One row of zeros per input, for a model checked without data."""
    from mlready.runtime.datatypes import V2_TO_NUMPY

    feeds = {}
    for inp in inputs:
        shape = [d if d > 0 else 1 for d in inp["shape"]]
        dtype = V2_TO_NUMPY.get(inp["datatype"], np.float32)
        feeds[inp["name"]] = np.zeros(shape, dtype)
    return feeds


def _sample_feeds(sig: dict[str, Any], sample: tuple[Any, str, list[str]], origin: str) -> dict[str, np.ndarray]:
    from mlready.generators._shared.feeds import frame_feeds

    frame, data_name, columns = sample
    inputs = sig["inputs"]
    if "features" in sig:
        return frame_feeds(frame, inputs, sig["features"], data_name)
    if len(inputs) == 1 and len(inputs[0]["shape"]) == 2 and inputs[0]["shape"][1] not in (-1, len(columns)):
        width = inputs[0]["shape"][1]
        shown = ", ".join(columns[:6]) + (f", … ({len(columns)} in all)" if len(columns) > 6 else "")
        raise ModelSourceError(
            f"{data_name}: the model {origin} expects {width} input features but the data has "
            f"{len(columns)} feature columns ({shown}); list the model's columns in data.features"
        )
    names = ", ".join(i["name"] for i in inputs)
    raise ModelSourceError(
        f"{data_name}: cannot tell which feature columns ({', '.join(columns[:6])}) feed the inputs of the "
        f"model {origin} ({names}); name the inputs after the columns, or list them in data.features"
    )


def _check_runs(onnx_bytes: bytes, sig: dict[str, Any], sample: tuple[Any, str, list[str]] | None, origin: str) -> None:
    """Load the model in onnxruntime and run it on the sample rows (every input fed), or on zeros without data."""
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelSourceError(f"{origin}: onnxruntime cannot load the model: {str(exc).splitlines()[0]}") from None
    if sample is None and any(i["datatype"] == "BYTES" for i in sig["inputs"]):
        return  # no data: a string input has no neutral value to run on (an encoder may refuse an unknown '')
    feeds = _zeros(sig["inputs"]) if sample is None else _sample_feeds(sig, sample, origin)
    try:
        sess.run(None, feeds)
    except Exception as exc:
        raise ModelSourceError(f"{origin}: the model fails on sample rows: {str(exc).splitlines()[0]}") from None


def ingest(ctx: StepContext) -> list[Artifact]:
    from mlready.generators._shared.facts import optimization_active
    from mlready.generators._shared.source import load_source, sample_data

    spec = ctx.spec
    ctx.progress("loading the model")
    sample = sample_data(ctx)
    src = load_source(spec, lambda: sample[0] if sample is not None else None)
    sig = signature(
        spec.model_name,
        spec.model.version,
        src,
        columns=sample[2] if sample is not None else None,
        class_names=spec.model.class_names,
        origin=spec.model.source,
    )
    ctx.progress("checking it runs in onnxruntime")
    # converters collect the opset imports in a set: their order follows string hashing, which differs per process
    opsets = sorted(src.onnx_model.opset_import, key=lambda o: (o.domain, o.version))
    del src.onnx_model.opset_import[:]
    src.onnx_model.opset_import.extend(opsets)
    data = src.onnx_model.SerializeToString(deterministic=True)
    _check_runs(data, sig, sample, spec.model.source)
    if optimization_active(spec):
        model_art = Artifact.from_bytes(BASELINE_PATH, ONNX_BASELINE, data)
    else:
        model_art = Artifact.from_bytes(MODEL_PATH, ONNX_MODEL, data)
    return [model_art, Artifact.json(SIGNATURE_PATH, SIGNATURE, sig)]
