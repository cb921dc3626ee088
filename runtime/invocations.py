"""``/invocations`` bodies beyond TF Serving JSON: MLflow's scoring payloads and CSV (SageMaker's, or pandas'
with a header line), reshaped into TF Serving's request form for :mod:`~mlready.runtime.codec_tfserving`.

MLflow's scoring server (``mlflow models serve``, ``mlflow.deployments``) sends one of
``{"dataframe_split": {"columns": [...], "data": [[...]]}}``, ``{"dataframe_records": [{...}]}``,
``{"instances": ...}`` or ``{"inputs": ...}`` (optionally with ``"params"``, which this server refuses unless
empty: the ONNX model takes none). ``dataframe_*`` answer ``{"predictions": [...]}`` rows, as MLflow does;
``instances`` / ``inputs`` keep TF Serving's meaning (``predictions`` / ``outputs``).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from mlready.runtime.errors import BadRequest

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def mlflow_json(data: dict) -> Any:
    """An MLflow scoring payload -> TF Serving's form (``data`` is a dict with one of :data:`MLFLOW_KEYS`)."""
    given = [k for k in MLFLOW_KEYS if k in data]
    if len(given) != 1:
        raise BadRequest(f"the request body must have exactly one of {', '.join(MLFLOW_KEYS)} "
                         f"(MLflow's scoring format) or TF Serving's 'instances' / 'inputs'")
    extra = set(data) - {given[0], "params", "signature_name"}
    if extra:
        raise BadRequest(f"unknown key(s) {', '.join(repr(k) for k in sorted(extra))} next to '{given[0]}'")
    if data.get("params"):
        raise BadRequest("'params': this model takes no inference parameters")
    key = given[0]
    if key == "dataframe_records":
        records = data[key]
        if not isinstance(records, list) or not records:
            raise BadRequest("'dataframe_records' must be a non-empty list of objects keyed by column name")
        return {"instances": records}
    if key == "dataframe_split":
        return {"instances": split_records(data[key], "dataframe_split")}
    return {k: v for k, v in data.items() if k != "params"}


def split_records(split: Any, where: str) -> list:
    """pandas' ``split`` orient (``columns``, ``data``, optional ``index``) -> rows: objects keyed by column,
    or lists in feature order when there are no columns."""
    if not isinstance(split, dict) or not isinstance(split.get("data"), list) or not split["data"]:
        raise BadRequest(f"'{where}' must be an object with 'data' (a non-empty list of rows) and 'columns'")
    extra = set(split) - {"columns", "data", "index"}
    if extra:
        raise BadRequest(f"'{where}': unknown key(s) {', '.join(repr(k) for k in sorted(extra))} (it takes "
                         f"columns, data, index)")
    columns = split.get("columns")
    rows = split["data"]
    if columns is None:
        return rows
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadRequest(f"'{where}.columns' must be a list of column names")
    if len(set(columns)) != len(columns):
        raise BadRequest(f"'{where}.columns' names a column twice")
    width = len(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise BadRequest(f"'{where}.data[{i}]': expected a list of {width} values (one per column)")
    return [dict(zip(columns, row, strict=True)) for row in rows]


# -- CSV ---------------------------------------------------------------------------------------------------------


def csv_body(body: bytes, signature: Any, header: bool | None) -> dict[str, Any]:
    """CSV rows -> TF Serving ``instances``. With a header line (``header``: the content type's ``header=present``
    or ``absent``; None: a first line that names a feature is one) the rows are keyed by column name and each
    cell is read as its feature's datatype; without one, a model with named features takes the cells in
    feature order, any other model numbers only (SageMaker's CSV). An empty cell is a missing value (NaN) in a
    float feature."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("CSV body is not UTF-8") from None
    try:
        lines = [(i + 1, row) for i, row in enumerate(csv.reader(io.StringIO(text))) if row and any(row)]
    except csv.Error as exc:
        raise BadRequest(f"malformed CSV: {exc}") from None
    fmap = signature.feature_map
    if header is None:
        header = fmap is not None and bool(lines) and any(c.strip() in fmap.by_name for c in lines[0][1])
    names: list[str] | None = None
    if header:
        if not lines:
            raise BadRequest("the CSV body has no header line")
        if fmap is None:
            raise BadRequest(f"CSV header line: model '{signature.name}' names no features; send rows of numbers "
                             f"without a header")
        names = [c.strip() for c in lines.pop(0)[1]]
        if len(set(names)) != len(names):
            raise BadRequest("CSV header line: a column is named twice")
        fmap.check_names(names, "CSV header line")
    if not lines:
        raise BadRequest("the CSV body has no rows")
    if fmap is None or (names is None and fmap.matrix is not None and len(signature.inputs) == 1
                        and fmap.matrix.datatype.startswith("FP")):
        return {"instances": [_numbers(n, row) for n, row in lines]}
    order = names or fmap.names
    features = [fmap.by_name[n] for n in order]
    rows = []
    for n, row in lines:
        if len(row) != len(order):
            raise BadRequest(f"CSV line {n}: {len(row)} values, expected {len(order)} ({', '.join(order)})")
        values = [_cell(f, c, n) for f, c in zip(features, row, strict=True)]
        rows.append(dict(zip(order, values, strict=True)) if names else values)
    return {"instances": rows}


def _numbers(line: int, row: list[str]) -> list[float]:
    try:
        values = [float(x) for x in row]
    except ValueError:
        raise BadRequest(f"CSV line {line}: expected numbers separated by commas") from None
    if not all(map(math.isfinite, values)):  # float() reads "nan", "inf" and "1e999"; JSON cannot say them
        raise BadRequest(f"CSV line {line}: values must be finite numbers (no nan, inf, or overflow)")
    return values


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _cell(feature: Any, cell: str, line: int) -> Any:
    """One CSV cell as its feature's datatype (the JSON value it stands for); 400 naming line and column."""
    kind = feature.datatype
    if kind == "BYTES":
        return cell
    text = cell.strip()
    where = f"CSV line {line}, column '{feature.name}'"
    if kind.startswith("FP"):
        if not text:
            return None  # missing: NaN
        try:
            value = float(text)
        except ValueError:
            raise BadRequest(f"{where}: expected a number, got {text[:40]!r}") from None
        if not math.isfinite(value):
            raise BadRequest(f"{where}: values must be finite numbers (no nan, inf, or overflow)")
        return value
    if kind == "BOOL":
        low = text.lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise BadRequest(f"{where}: expected true or false, got {text[:40]!r}")
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{where}: expected an integer, got {text[:40]!r}") from None
