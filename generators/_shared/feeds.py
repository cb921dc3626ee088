"""A table of feature columns -> ONNX feeds, through the signature's feature binding (one way, used everywhere).

``model/signature.json`` lists ``features``: each column the caller sends, the v2 datatype its value must fit,
the ONNX input it feeds and its position in that input's last dimension (``index``; ``None`` when the input is
this one column alone). :func:`bind_features` derives that binding from a graph's inputs and the column names;
:func:`frame_feeds` turns a DataFrame (original dtypes: strings, missing values, ints, bools) into the feeds,
with errors that name the data, the column and the row. The model server mirrors this mapping for named
requests (``runtime/signature.py``); it must not import this module (the image stays free of pandas).

Conversions, by the datatype of the input a column feeds:

- ``FP32``/``FP64``/``FP16``: numbers and booleans; a missing value is NaN (imputers in the graph fill it);
- ``INT*``/``UINT*``: whole numbers and booleans; missing or fractional values are errors;
- ``BOOL``: booleans, 0/1, or the strings ``true``/``false``; missing values are errors;
- ``BYTES``: strings (numbers are written as text); a missing value is an error (an ONNX string tensor has
  no missing value: fill it in the data, or impute before saving the model's input).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from mlready.engine.errors import StepError
from mlready.runtime.datatypes import ONNX_TO_V2, V2_TO_NUMPY  # the server's tables (numpy only)

TRUE, FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


class FeedError(StepError):
    """A column does not fit the model input it feeds (names the data, the column and the row)."""


def _one_column(shape: Sequence[int]) -> bool:
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)


def bind_features(inputs: list[dict[str, Any]], names: Sequence[str] | None) -> list[dict[str, Any]] | None:
    """Which input (and position) each feature column feeds, in the columns' order; None when unknown.

    One 2-D input of width n and n names: every name on that input, index 0..n-1. Several one-column inputs
    (skl2onnx's one input per column): each input is the column of its own name (in the names' order when
    the names are exactly the inputs, else in input order).
    """
    if len(inputs) == 1 and len(inputs[0]["shape"]) == 2 and names:
        inp = inputs[0]
        if inp["shape"][1] not in (len(names), -1):
            return None
        return [
            {"name": str(n), "datatype": inp["datatype"], "input": inp["name"], "index": i}
            for i, n in enumerate(names)
        ]
    if len(inputs) == 1 and len(inputs[0]["shape"]) == 1 and names and len(names) == 1:  # one column, [-1]
        return [{"name": str(names[0]), "datatype": inputs[0]["datatype"], "input": inputs[0]["name"], "index": None}]
    if len(inputs) > 1 and all(_one_column(i["shape"]) for i in inputs):
        by_name = {i["name"]: i for i in inputs}
        given = [str(n) for n in names] if names else []
        order = given if sorted(given) == sorted(by_name) else list(by_name)
        return [{"name": n, "datatype": by_name[n]["datatype"], "input": n, "index": None} for n in order]
    return None


def per_column(features: list[dict[str, Any]] | None) -> bool:
    """True when the binding feeds more than one input or a column alone: the data goes in as a table
    (strings, booleans, integers kept), not as one float matrix."""
    if not features:
        return False
    return len({f["input"] for f in features}) > 1 or any(f["index"] is None for f in features)


def feedable_rows(frame: pd.DataFrame, features: list[dict[str, Any]]) -> np.ndarray:
    """Rows whose values can all be fed: a missing value is allowed in float columns only (it becomes NaN)."""
    ok = np.ones(len(frame), dtype=bool)
    for f in features:
        if not str(f["datatype"]).startswith("FP") and f["name"] in frame.columns:
            ok &= frame[f["name"]].notna().to_numpy()
    return ok


def session_inputs(sess: Any) -> list[dict[str, Any]]:
    """v2 descriptions (name, datatype, shape with -1 for dynamic dims) of an onnxruntime session's inputs."""
    return [
        {
            "name": i.name,
            "datatype": ONNX_TO_V2.get(i.type, i.type),
            "shape": [d if isinstance(d, int) else -1 for d in (i.shape or [])],
        }
        for i in sess.get_inputs()
    ]


def _row(mask: Any) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1


def _fail(where: str, why: str, series: pd.Series, mask: Any, datatype: str, input_name: str) -> FeedError:
    row = _row(mask)
    value = series.iloc[row - 1]
    value = value.item() if isinstance(value, np.generic) else value
    shown = "a missing value" if pd.isna(value) else f"value {value!r}"
    return FeedError(
        f"{where}: {shown} in data row {row} {why} (the model input {input_name!r} is {datatype})"
    )


def column_values(series: pd.Series, datatype: str, where: str, input_name: str) -> np.ndarray:
    """One column as a 1-D array of the datatype's numpy type; ``where`` names the data and column."""
    missing = series.isna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    if datatype == "BYTES":
        if missing.any():
            raise _fail(where, "cannot be sent as a string", series, missing, datatype, input_name)
        return series.astype(str).to_numpy(dtype=object)
    if datatype == "BOOL":
        if missing.any():
            raise _fail(where, "cannot be sent as a boolean", series, missing, datatype, input_name)
        if pd.api.types.is_bool_dtype(series):
            return series.to_numpy(dtype=np.bool_)
        text = series.astype(str).str.strip().str.lower()
        bad = ~text.isin(TRUE | FALSE).to_numpy()
        if bad.any():
            raise _fail(where, "is not a boolean", series, bad, datatype, input_name)
        return text.isin(TRUE).to_numpy(dtype=np.bool_)
    if not numeric:
        coerced = pd.to_numeric(series, errors="coerce")
        bad = (coerced.isna() & series.notna()).to_numpy()
        if bad.any():
            raise _fail(where, "is not a number", series, bad, datatype, input_name)
        series = coerced
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if datatype.startswith(("INT", "UINT")):
        if missing.any():
            raise _fail(where, "cannot be sent as an integer", series, missing, datatype, input_name)
        frac = values != np.round(values)
        if frac.any():
            raise _fail(where, "is not a whole number", series, frac, datatype, input_name)
    return values.astype(V2_TO_NUMPY.get(datatype, np.float32))


def frame_feeds(
    frame: pd.DataFrame, inputs: list[dict[str, Any]], features: list[dict[str, Any]], data_name: str
) -> dict[str, np.ndarray]:
    """The ONNX feeds for the rows of ``frame`` (its feature columns named by ``features``)."""
    absent = [f["name"] for f in features if f["name"] not in frame.columns]
    if absent:
        raise FeedError(
            f"{data_name}: the model takes feature column(s) {', '.join(map(repr, absent))}, which the data "
            f"lacks (columns: {', '.join(map(str, frame.columns))})"
        )
    n = len(frame)
    feeds: dict[str, np.ndarray] = {}
    for inp in inputs:
        bound = [f for f in features if f["input"] == inp["name"]]
        name, shape, datatype = inp["name"], list(inp["shape"]), inp["datatype"]
        if not bound:
            raise FeedError(f"{data_name}: no feature column feeds the model input {name!r}")
        if len(bound) == 1 and bound[0]["index"] is None:
            col = column_values(frame[bound[0]["name"]], datatype, f"{data_name}: column {bound[0]['name']!r}", name)
            feeds[name] = col.reshape(-1, 1) if len(shape) == 2 else col
            continue
        if len(shape) != 2:
            raise FeedError(f"{data_name}: the model input {name!r} has shape {shape}; columns fill [-1, n] inputs")
        width = shape[1] if shape[1] > 0 else max(int(f["index"]) for f in bound) + 1
        arr = np.empty((n, width), dtype=V2_TO_NUMPY.get(datatype, np.float32))
        filled = np.zeros(width, dtype=bool)
        for f in bound:
            arr[:, f["index"]] = column_values(frame[f["name"]], datatype, f"{data_name}: column {f['name']!r}", name)
            filled[f["index"]] = True
        if not filled.all():
            raise FeedError(
                f"{data_name}: positions {np.flatnonzero(~filled).tolist()} of the model input {name!r} have no "
                "feature column"
            )
        feeds[name] = arr
    return feeds
