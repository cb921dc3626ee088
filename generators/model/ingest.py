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

SAMPLE_ROWS = 8


def sample_data(ctx: StepContext) -> tuple[np.ndarray, str, list[str]] | None:
    """The first rows of the evaluation data's feature columns (float32) with the file's name and the column
    names, or None when the spec names no evaluation data.

    The whole file is checked (the readiness step's loader: errors name the file, column and row)."""
    from mlready.generators._shared.data import choose_features, numeric_matrix, read_table

    spec = ctx.spec
    if not spec.data.eval:
        return None
    name = spec.data.eval
    frame = read_table(ctx.resolve(name), name)
    features = choose_features(frame, name, spec.data.target, spec.data.features, None)
    X = numeric_matrix(frame, features, name, allow_nan=True)
    return X[:SAMPLE_ROWS].astype(np.float32), name, features


def sample_rows(ctx: StepContext) -> np.ndarray | None:
    """Just the sample rows (what format loaders take)."""
    data = sample_data(ctx)
    return None if data is None else data[0]


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
    from mlready.generators.model import load_source

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
