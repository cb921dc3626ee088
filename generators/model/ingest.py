"""The ``model.ingest`` step."""

from __future__ import annotations

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


def _check_runs(onnx_bytes: bytes, sample, origin: str) -> None:
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelSourceError(f"{origin}: onnxruntime cannot load the model: {str(exc).splitlines()[0]}") from None
    inputs = sess.get_inputs()
    if len(inputs) != 1:  # multi-input models are checked by the readiness step's evaluation
        return
    shape = [d if isinstance(d, int) else 1 for d in inputs[0].shape]
    if sample is None:
        sample = np.zeros(shape, dtype=np.float32)
    else:
        sample, data_name, features = sample
        if len(shape) == 2 and sample.shape[1] != shape[1]:
            shown = ", ".join(features[:6]) + (f", … ({len(features)} in all)" if len(features) > 6 else "")
            raise ModelSourceError(
                f"{data_name}: the model {origin} expects {shape[1]} input features but the data has "
                f"{sample.shape[1]} feature columns ({shown}); list the model's columns in data.features"
            )
    feeds = {inputs[0].name: sample}
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
    src = load_source(spec, sample[0] if sample is not None else None)
    ctx.progress("checking it runs in onnxruntime")
    data = src.onnx_model.SerializeToString(deterministic=True)
    _check_runs(data, sample, spec.model.source)
    sig = signature(spec.model_name, spec.model.version, src)
    if optimization_active(spec):
        model_art = Artifact.from_bytes(BASELINE_PATH, ONNX_BASELINE, data)
    else:
        model_art = Artifact.from_bytes(MODEL_PATH, ONNX_MODEL, data)
    return [model_art, Artifact.json(SIGNATURE_PATH, SIGNATURE, sig)]
