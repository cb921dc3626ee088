"""Loading evaluation data (CSV or Parquet) into model inputs, with errors that name the file and column.

Feature columns come from ``data.features`` when the spec lists them, else from the model's feature names
(a scikit-learn estimator fitted on a DataFrame remembers them), else every column but the target, in file
order. Their number must match the width of the model input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlready.engine.errors import StepError
from mlready.generators._shared.scoring import as_labels

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv",)


@dataclass
class Dataset:
    name: str  # the spec path, e.g. "data/eval.csv"
    frame: pd.DataFrame  # the whole table as read
    features: list[str]
    X: Any  # float64 ndarray [n, n_features]; for a per-column model, the DataFrame of the feature columns
    y: np.ndarray | None  # None when the table has no target column and none was required

    @property
    def rows(self) -> int:
        return len(self.frame)


def read_table(path: Path, name: str) -> pd.DataFrame:
    """Read a CSV or Parquet file; every failure is a StepError naming ``name``."""
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise StepError(f"{name}: unsupported data format {suffix or '(no suffix)'!r}; use .csv or .parquet")
    if not path.is_file():
        raise StepError(f"{name}: file not found ({path})")
    if path.stat().st_size == 0:
        raise StepError(f"{name}: the file is empty")
    try:
        if suffix in CSV_SUFFIXES:
            frame = pd.read_csv(path)
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise StepError(f"{name}: the file has no columns") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise StepError(f"{name}: not a readable CSV file: {str(exc).strip()}") from None
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise StepError(f"{name}: not a readable Parquet file: {type(exc).__name__}: {exc}") from None
    if len(frame) == 0:
        raise StepError(f"{name}: no data rows (columns: {', '.join(map(str, frame.columns))})")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _columns_list(cols: Sequence[str], limit: int = 8) -> str:
    cols = list(cols)
    shown = ", ".join(cols[:limit])
    return shown + (f", … ({len(cols)} in all)" if len(cols) > limit else "")


def choose_features(
    frame: pd.DataFrame,
    name: str,
    target: str,
    spec_features: Sequence[str] | None,
    model_features: Sequence[str] | None,
) -> list[str]:
    if spec_features:
        missing = [c for c in spec_features if c not in frame.columns]
        if missing:
            raise StepError(
                f"{name}: feature column {_columns_list(missing)} listed in data.features is not in the file "
                f"(columns: {_columns_list(frame.columns)})"
            )
        return list(spec_features)
    if model_features:
        missing = [c for c in model_features if c not in frame.columns]
        if missing:
            raise StepError(
                f"{name}: the model was fitted on column {_columns_list(missing)}, which the file lacks "
                f"(columns: {_columns_list(frame.columns)})"
            )
        return list(model_features)
    return [c for c in frame.columns if c != target]


def _first_bad_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def numeric_matrix(frame: pd.DataFrame, features: list[str], name: str, allow_nan: bool) -> np.ndarray:
    """The feature columns as float64; a non-numeric column or a missing value is an error naming it."""
    for col in features:
        series = frame[col]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            coerced = pd.to_numeric(series, errors="coerce")
            bad = coerced.isna() & series.notna()
            row = _first_bad_row(bad.to_numpy())
            raise StepError(
                f"{name}: column {col!r} is not numeric (dtype {series.dtype}; value {series.iloc[row - 1]!r} "
                f"in data row {row}); the model takes numbers"
            )
    X = frame[features].to_numpy(dtype=np.float64, na_value=np.nan)
    if not allow_nan:
        for j, col in enumerate(features):
            bad = ~np.isfinite(X[:, j])
            if bad.any():
                kind = "missing" if np.isnan(X[bad, j]).all() else "missing or infinite"
                raise StepError(
                    f"{name}: column {col!r} has {int(bad.sum())} {kind} value(s) (first in data row "
                    f"{_first_bad_row(bad)}); fill or drop them before evaluating"
                )
    return X


def check_integral(X: np.ndarray, features: list[str], name: str, input_name: str, datatype: str) -> None:
    """An integer model input must not silently truncate fractional values."""
    for j, col in enumerate(features):
        values = X[:, j]
        bad = np.isfinite(values) & (values != np.round(values))
        if bad.any():
            row = _first_bad_row(bad)
            raise StepError(
                f"{name}: column {col!r} has fractional values (e.g. {values[row - 1]:g} in data row {row}) "
                f"but the model input {input_name!r} is {datatype}"
            )


def target_vector(frame: pd.DataFrame, name: str, target: str, task: str) -> np.ndarray:
    series = frame[target]
    missing = series.isna().to_numpy()
    if missing.any():
        raise StepError(
            f"{name}: target column {target!r} has {int(missing.sum())} missing value(s) "
            f"(first in data row {_first_bad_row(missing)})"
        )
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(series):
            raise StepError(
                f"{name}: target column {target!r} is not numeric (dtype {series.dtype}) for regression"
            )
        return series.to_numpy(dtype=np.float64)
    return series.to_numpy()


def check_target_classes(y: np.ndarray, name: str, target: str, classes: Sequence[Any] | None) -> None:
    """A classifier's target must hold only the model's classes: another label is a data error, located."""
    if classes is None or len(classes) == 0:
        return
    known = set(as_labels(classes).tolist())
    labels = as_labels(y)
    bad = np.array([v not in known for v in labels.tolist()], dtype=bool)
    if not bad.any():
        return
    unseen = sorted({str(v) for v in labels[bad].tolist()})
    shown = ", ".join(repr(v) for v in unseen[:10]) + (f" (+{len(unseen) - 10} more)" if len(unseen) > 10 else "")
    raise StepError(
        f"{name}: target column {target!r} has {int(bad.sum())} row(s) with a class the model never saw: "
        f"{shown} (first in data row {_first_bad_row(bad)}); the model's classes are "
        f"{', '.join(str(c) for c in as_labels(classes).tolist())}. Fix the labels in {name}, or retrain the "
        "model on data with these classes"
    )


def _has_target(frame: pd.DataFrame, name: str, target: str, required: bool) -> bool:
    if required and target not in frame.columns:
        raise StepError(
            f"{name}: target column {target!r} not found (columns: {_columns_list(frame.columns)}); "
            "set data.target"
        )
    return target in frame.columns


def load_dataset(
    path: Path,
    name: str,
    *,
    target: str,
    task: str,
    spec_features: Sequence[str] | None = None,
    model_features: Sequence[str] | None = None,
    n_features: int | None = None,
    input_name: str = "input",
    require_target: bool = True,
    allow_nan: bool = False,
    input_datatype: str = "FP32",
    frame: pd.DataFrame | None = None,
) -> Dataset:
    """Read a table (unless the caller read it: ``frame``) and split it into model inputs and the target,
    checking it fits the model."""
    frame = read_table(path, name) if frame is None else frame
    has_target = _has_target(frame, name, target, require_target)
    features = choose_features(frame, name, target, spec_features, model_features)
    if n_features is not None and len(features) != n_features:
        raise StepError(
            f"{name}: {len(features)} feature column(s) ({_columns_list(features)}) but the model input "
            f"{input_name!r} takes {n_features}; list the model's columns in data.features"
        )
    X = numeric_matrix(frame, features, name, allow_nan)
    if input_datatype.startswith(("INT", "UINT", "BOOL")):
        check_integral(X, features, name, input_name, input_datatype)
    y = target_vector(frame, name, target, task) if has_target else None
    return Dataset(name=name, frame=frame, features=features, X=X, y=y)


def load_table(
    path: Path, name: str, *, target: str, task: str, features: Sequence[str], require_target: bool = True,
    frame: pd.DataFrame | None = None,
) -> Dataset:
    """A table for a model with one input per column: the feature columns as they are (strings, booleans,
    integers, missing values), checked against the model by ``_shared/feeds.py`` when fed. ``frame``: the
    table, when the caller has read it."""
    frame = read_table(path, name) if frame is None else frame
    has_target = _has_target(frame, name, target, require_target)
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise StepError(
            f"{name}: the model takes column {_columns_list(missing)}, which the file lacks "
            f"(columns: {_columns_list(frame.columns)})"
        )
    X = frame[list(features)].reset_index(drop=True)
    y = target_vector(frame, name, target, task) if has_target else None
    return Dataset(name=name, frame=frame, features=list(features), X=X, y=y)
