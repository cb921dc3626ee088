"""The ``model.ingest`` step."""

from __future__ import annotations

import numpy as np
from mlready.engine.plugin import Artifact, StepContext
from mlready.generators.model.source import ModelSourceError, signature

SAMPLE_ROWS = 8


def read_table(path):
    """A CSV or Parquet file as a DataFrame, with errors that name the file."""
    import pandas as pd

    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError, ValueError) as exc:
        raise ModelSourceError(f"{path}: cannot read the data: {str(exc).splitlines()[0]}") from None
    if df.empty:
        raise ModelSourceError(f"{path}: the data file has no rows")
    return df


def feature_columns(spec, df) -> list[str]:
    if spec.data.features:
        missing = [c for c in spec.data.features if c not in df.columns]
        if missing:
            raise ModelSourceError(f"{spec.data.eval}: feature column(s) {', '.join(map(repr, missing))} not found")
        return list(spec.data.features)
    return [c for c in df.columns if c != spec.data.target]


def sample_rows(ctx: StepContext) -> np.ndarray | None:
    spec = ctx.spec
    if not spec.data.eval:
        return None
    path = ctx.resolve(spec.data.eval)
    df = read_table(path).head(SAMPLE_ROWS)
    cols = feature_columns(spec, df)
    bad = [c for c in cols if not np.issubdtype(df[c].dtype, np.number)]
    if bad:
        raise ModelSourceError(f"{path}: column(s) {', '.join(map(repr, bad))} are not numeric")
    return df[cols].to_numpy(dtype=np.float32)


def _check_runs(onnx_bytes: bytes, sample: np.ndarray | None, origin: str) -> None:
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelSourceError(f"{origin}: onnxruntime cannot load the model: {str(exc).splitlines()[0]}") from None
    inputs = sess.get_inputs()
    if len(inputs) != 1:
        feeds = None  # multi-input models: checked by shape only
        return
    shape = [d if isinstance(d, int) else 1 for d in inputs[0].shape]
    if sample is None:
        sample = np.zeros(shape, dtype=np.float32)
    elif len(shape) == 2 and sample.shape[1] != shape[1]:
        raise ModelSourceError(
            f"{origin}: the model expects {shape[1]} input features but the evaluation data has "
            f"{sample.shape[1]} feature columns"
        )
    feeds = {inputs[0].name: sample}
    try:
        sess.run(None, feeds)
    except Exception as exc:
        raise ModelSourceError(f"{origin}: the model fails on sample rows: {str(exc).splitlines()[0]}") from None


def ingest(ctx: StepContext) -> list[Artifact]:
    from mlready.generators.model import load_source, optimization_active

    spec = ctx.spec
    ctx.progress("loading the model")
    sample = sample_rows(ctx)
    src = load_source(spec, ctx.project_dir, sample)
    ctx.progress("checking it runs in onnxruntime")
    data = src.onnx_model.SerializeToString(deterministic=True)
    _check_runs(data, sample, spec.model.source)
    sig = signature(spec.model_name, spec.model.version, src)
    if optimization_active(spec):
        model_art = Artifact.from_bytes("model/baseline.onnx", "onnx-baseline", data)
    else:
        model_art = Artifact.from_bytes("model/model.onnx", "onnx-model", data)
    return [model_art, Artifact.json("model/signature.json", "model-signature", sig)]
