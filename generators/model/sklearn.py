"""scikit-learn estimators and pipelines saved with joblib (or skops), converted with skl2onnx.

Classifiers are converted with ZipMap off, so probabilities are a plain float tensor: outputs ``label``
(INT64 [-1]) and ``probabilities`` (FP32 [-1, n_classes]). A model on numbers takes one float tensor ``input``
of shape [-1, n_features]. A model fitted on a table with string, boolean or integer columns, or one that
selects its columns by name (a ``ColumnTransformer``), takes **one typed input per column**, named after the
column, [-1, 1] each: BYTES for string/category columns, INT64 for integers, BOOL for booleans, FP32 for
floats (NaN passes through to imputers). Column types come from the evaluation data. Loading a pickle runs
code from the file: only build models you trust.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlready.engine.formats import ModelFormat
from mlready.generators.model.boosters import TOOLS as BOOSTER_TOOLS
from mlready.generators.model.source import ModelSourceError, SourceModel, graph_inputs

if TYPE_CHECKING:
    import pandas as pd

FORMAT = ModelFormat(
    name="sklearn",
    title="scikit-learn",
    load="mlready.generators.model.sklearn:load",
    suffixes=(".joblib", ".skops", ".pkl", ".pickle"),
    mlflow_flavor=("sklearn", "pickled_model"),
    tools=("skl2onnx", "scikit-learn", *BOOSTER_TOOLS),  # a pickle may hold a booster (boosters.py)
    refit="mlready.generators.model.sklearn:refit",
)


def _read(path: Path) -> Any:
    try:
        if path.suffix == ".skops":
            import skops.io as sio

            return sio.load(path, trusted=sio.get_untrusted_types(file=path))
        import joblib

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn version warnings: conversion + parity checks decide
            return joblib.load(path)
    except ModuleNotFoundError as exc:
        from mlready.generators.model.boosters import install_hint

        raise ModelSourceError(
            f"{path}: the model needs the Python module {exc.name!r}, which is not installed{install_hint(exc.name)}"
        ) from None
    except (pickle.UnpicklingError, EOFError, KeyError, IndexError, ValueError, OverflowError, MemoryError):
        # what pickle raises on bytes that are not a pickle (a damaged file's first byte 'n' is KeyError: 110)
        raise ModelSourceError(
            f"{path}: not a scikit-learn model file: joblib cannot read it (damaged, truncated, or another "
            "format); save the fitted estimator with joblib.dump(model, path)"
        ) from None
    except Exception as exc:
        raise ModelSourceError(f"{path}: cannot load the scikit-learn model: {type(exc).__name__}: {exc}") from None


def load(spec, path: Path | None, sample: pd.DataFrame | None) -> SourceModel:
    assert path is not None
    est = _read(path)
    if not hasattr(est, "predict"):
        raise ModelSourceError(f"{path}: holds a {type(est).__name__}, not a fitted estimator with predict()")
    return convert(spec, est, origin=str(path), sample=sample)


def refit(spec: Any, src: SourceModel) -> tuple[Any, bool] | None:
    """Cross-validation refits a clone of the estimator (on a DataFrame when it was fitted on named columns)."""
    est = src.estimator
    if est is None or not (hasattr(est, "fit") and hasattr(est, "get_params")):
        return None
    from sklearn.base import clone

    def fit(X: Any, y: Any) -> Any:
        return clone(est).fit(X, y)

    return fit, getattr(est, "feature_names_in_", None) is not None


def convert(spec, est: Any, origin: str, sample: pd.DataFrame | None = None) -> SourceModel:
    """Convert a fitted estimator; shared by the trainer loader."""
    from mlready.generators.model.boosters import prepare
    from mlready.generators.model.sklearn_columns import column_types, numeric_as_float
    from sklearn.base import is_classifier

    est, booster_notes = prepare(est, origin)  # XGBoost/LightGBM/CatBoost inside: checks, converters (boosters.py)
    n_features = getattr(est, "n_features_in_", None)
    if n_features is None:
        raise ModelSourceError(f"{origin}: the estimator is not fitted (no n_features_in_)")
    classifier = is_classifier(est)
    task = spec.model.task if spec.model.task != "auto" else ("classification" if classifier else "regression")
    columns = column_types(est, sample, origin)
    convert_args = (est, int(n_features), spec.model.input_name, spec.model.opset, classifier, origin)
    try:
        onx = to_onnx(*convert_args, columns)
    except ModelSourceError:
        relaxed = numeric_as_float(columns)  # e.g. a boolean into an encoder: skl2onnx takes it as a float
        if relaxed == columns:
            raise
        try:
            onx = to_onnx(*convert_args, relaxed)
        except ModelSourceError:
            onx = to_onnx(*convert_args, columns)  # raises the first error, the one about the real types
        columns = relaxed
    names = getattr(est, "feature_names_in_", None)
    classes = list(est.classes_) if classifier and hasattr(est, "classes_") else None
    features = None
    if columns:  # skl2onnx keeps the inputs in order but renames them ('home state' -> 'home_state')
        inputs = graph_inputs(onx)
        features = [{"name": col, "datatype": inp["datatype"], "input": inp["name"], "index": None}
                    for (col, _), inp in zip(columns, inputs, strict=True)]
    return SourceModel(
        onnx_model=onx,
        estimator=est,
        task=task,
        classes=classes,
        feature_names=[str(n) for n in names] if names is not None else None,
        features=features,
        notes=[f"converted {type(est).__name__} with skl2onnx (opset {spec.model.opset}, zipmap off"
               + (", one typed input per column)" if columns else ")"), *booster_notes],
    )


def to_onnx(
    est: Any, n_features: int, input_name: str, opset: int, classifier: bool, origin: str,
    columns: list[tuple[str, Any]] | None = None,
) -> Any:
    """Convert with skl2onnx: one float matrix input, or the typed per-column inputs ``columns``."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from skl2onnx.common.exceptions import MissingShapeCalculator

    options = {"zipmap": False} if classifier else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            onx = convert_sklearn(
                est,
                name=type(est).__name__,
                initial_types=columns or [(input_name, FloatTensorType([None, n_features]))],
                target_opset={"": opset, "ai.onnx.ml": 3},
                options={id(est): options} if options else None,
                final_types=None,
            )
    except (MissingShapeCalculator, RuntimeError, NameError, TypeError, ValueError, AssertionError) as exc:
        from mlready.generators.model.sklearn_columns import unsupported

        first = str(exc).strip().split("\n")[0]
        raise ModelSourceError(f"{origin}: skl2onnx cannot convert this model: {unsupported(est) or first}") from None
    # Stable, readable output names for classifiers: label + probabilities.
    if classifier:
        rename = {}
        outs = onx.graph.output
        if len(outs) == 2:
            rename = {outs[0].name: "label", outs[1].name: "probabilities"}
        for node in onx.graph.node:
            node.output[:] = [rename.get(o, o) for o in node.output]
        for o in outs:
            o.name = rename.get(o.name, o.name)
    else:
        outs = onx.graph.output
        if len(outs) == 1 and outs[0].name != "prediction":
            old = outs[0].name
            for node in onx.graph.node:
                node.output[:] = ["prediction" if o == old else o for o in node.output]
            outs[0].name = "prediction"
    onx.producer_name = "mlready"
    onx.producer_version = ""
    onx.doc_string = ""
    return onx
