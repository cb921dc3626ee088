"""What skl2onnx needs to know about a scikit-learn model on a mixed table: one typed input per column.

:func:`column_types` decides between the one float matrix input (numbers only, columns by position) and one
input per column, typed from the evaluation data's dtypes and from where the column goes in the model:

- string/category columns -> ``StringTensorType`` (BYTES);
- integer columns -> ``Int64TensorType`` (INT64) when an encoder or ``passthrough`` takes them, else
  ``FloatTensorType`` (imputers and scalers in skl2onnx take one numeric type: ints are exact in float32 up
  to 2**24);
- boolean columns -> ``BooleanTensorType`` (BOOL) when passed through, else ``FloatTensorType``;
- float columns -> ``FloatTensorType`` (FP32; NaN passes through to imputers).

When skl2onnx refuses these types somewhere in the model (an encoder has no boolean kernel), the conversion is
tried again with integers and booleans as floats (:func:`numeric_as_float`); the parity gate checks the result.
:func:`unsupported` names the estimators in a model skl2onnx has no converter for.
"""

from __future__ import annotations

from typing import Any

from mlready.generators.model.source import ModelSourceError

SUPPORTED = (
    "scikit-learn's own estimators and transformers: linear and logistic models, SVMs, k-NN, naive Bayes, "
    "MLPs, decision trees, random forests, extra trees, (Hist)GradientBoosting, ColumnTransformer, Pipeline, "
    "FeatureUnion, OneHotEncoder, OrdinalEncoder, SimpleImputer, StandardScaler/MinMaxScaler, PCA, …; "
    "XGBoost, LightGBM and CatBoost models build through their own formats"
)


def _parts(est: Any) -> list[tuple[str, Any]]:
    """(where, estimator) for the estimator and everything nested in pipelines, unions and column transformers."""
    out: list[tuple[str, Any]] = []

    def walk(obj: Any, where: str) -> None:
        if obj is None or isinstance(obj, str):  # "drop" / "passthrough"
            return
        out.append((where, obj))
        name = type(obj).__name__
        if hasattr(obj, "steps"):
            for step, sub in obj.steps:
                walk(sub, f"step {step!r} of the {name}")
        for attr in ("transformers_", "transformer_list"):
            for item in getattr(obj, attr, None) or []:
                walk(item[1], f"transformer {item[0]!r} of the {name}")
        for attr in ("estimator", "base_estimator", "final_estimator_"):
            sub = getattr(obj, attr, None)
            if sub is not None and hasattr(sub, "fit"):
                walk(sub, f"{attr} of the {name}")

    walk(est, "the model")
    return out


def unsupported(est: Any) -> str | None:
    """'ClassName (in step 'x' of the Pipeline); supported: …' for the first part skl2onnx cannot convert."""
    from skl2onnx._supported_operators import sklearn_operator_name_map

    for where, part in _parts(est):
        if type(part) not in sklearn_operator_name_map:
            place = "" if where == "the model" else f" (the {where})"
            return f"{type(part).__module__}.{type(part).__name__}{place} has no ONNX converter; supported: {SUPPORTED}"
    return None


def _selects_by_name(est: Any) -> bool:
    for _, part in _parts(est):
        for item in getattr(part, "transformers_", None) or []:
            cols = item[2]
            if isinstance(cols, str) or (isinstance(cols, list | tuple) and any(isinstance(c, str) for c in cols)):
                return True
    return False


ENCODERS = ("OneHotEncoder", "OrdinalEncoder", "TargetEncoder")


def _routes(est: Any) -> dict[str, str]:
    """Column name -> "encoder" | "passthrough" | "other": what a ColumnTransformer does with it first."""
    routes: dict[str, str] = {}
    for _, part in _parts(est):
        for _name, trans, cols in getattr(part, "transformers_", None) or []:
            first = trans.steps[0][1] if hasattr(trans, "steps") else trans
            identity = type(first).__name__ == "FunctionTransformer" and getattr(first, "func", 0) is None
            kind = (
                "passthrough" if first == "passthrough" or identity  # fitted: an identity FunctionTransformer
                else "encoder" if type(first).__name__ in ENCODERS
                else "other"
            )
            for col in [cols] if isinstance(cols, str) else list(cols) if isinstance(cols, list | tuple) else []:
                if isinstance(col, str):
                    routes.setdefault(col, kind)
    return routes


def _tensor_type(series: Any, route: str | None) -> Any:
    import pandas as pd
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    if pd.api.types.is_bool_dtype(series):
        return BooleanTensorType([None, 1]) if route in (None, "passthrough") else FloatTensorType([None, 1])
    if pd.api.types.is_integer_dtype(series):
        return Int64TensorType([None, 1]) if route in (None, "passthrough", "encoder") else FloatTensorType([None, 1])
    if pd.api.types.is_numeric_dtype(series):
        return FloatTensorType([None, 1])
    return StringTensorType([None, 1])


def column_types(est: Any, sample: Any, origin: str) -> list[tuple[str, Any]] | None:
    """skl2onnx ``initial_types`` with one input per column, or None for the one float matrix input.

    Per column when the model was fitted on named columns and the data has a non-float column, or the model
    selects columns by name. Without data the column types are unknown: a model that needs them is an error.
    """
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        return None
    names = [str(n) for n in names]
    by_name = _selects_by_name(est)
    if sample is None:
        if by_name:
            raise ModelSourceError(
                f"{origin}: the model selects its columns by name, so it takes one input per column, whose types "
                "come from the evaluation data; set data.eval"
            )
        return None
    import pandas as pd

    missing = [n for n in names if n not in sample.columns]
    if missing:
        raise ModelSourceError(
            f"{origin}: the model was fitted on column(s) {', '.join(map(repr, missing))}, which the evaluation "
            f"data lacks (columns: {', '.join(map(str, sample.columns))})"
        )
    mixed = any(
        not pd.api.types.is_float_dtype(sample[n]) and not pd.api.types.is_integer_dtype(sample[n]) for n in names
    )
    if not (mixed or by_name):
        return None
    routes = _routes(est)
    return [(n, _tensor_type(sample[n], routes.get(n))) for n in names]


def numeric_as_float(columns: list[tuple[str, Any]] | None) -> list[tuple[str, Any]] | None:
    """The same inputs with integer and boolean columns as floats: what to try when skl2onnx refuses the
    native types somewhere in the model (an encoder without a boolean kernel, a step taking one numeric type)."""
    if not columns:
        return columns
    from skl2onnx.common.data_types import BooleanTensorType, FloatTensorType, Int64TensorType

    return [
        (n, FloatTensorType([None, 1]) if isinstance(t, BooleanTensorType | Int64TensorType) else t)
        for n, t in columns
    ]
