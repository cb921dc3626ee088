"""One table column (Arrow) -> the 1-D array its feature takes, and which rows cannot be scored and why.

The checks are the server's (:mod:`~mlready.runtime.features`): numbers for numeric features (a missing value
is NaN for FP16/FP32/FP64 features, as JSON null is; it is a bad row elsewhere), integers that fit for integer
features, booleans for BOOL, text for BYTES, finite floats. A CSV column arrives as text and is parsed here, so
a bad value is one bad row, not a failed file. A column whose *type* cannot feed the feature (a number column
for a text feature) is a :class:`ColumnError`: no row of it could be scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from mlready.runtime.datatypes import V2_TO_NUMPY
from mlready.runtime.features import Feature

_TRUE = frozenset(("true", "1"))
_FALSE = frozenset(("false", "0"))


class ColumnError(ValueError):
    """A column that cannot feed its feature at all (wrong type)."""


@dataclass
class Converted:
    values: np.ndarray  # the feature's dtype; bad rows hold a neutral value
    bad: np.ndarray | None  # bool mask of rows that cannot be scored, or None when all are good
    reason: str = ""  # why, for the bad rows


def convert(feature: Feature, column: Any) -> Converted:
    """``column``: a pyarrow Array or ChunkedArray of one batch."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = V2_TO_NUMPY[feature.datatype]
    kind = dtype.kind
    typ = column.type
    if pa.types.is_dictionary(typ):
        column = column.cast(typ.value_type)
        typ = column.type
    nulls = column.is_null().to_numpy(zero_copy_only=False) if column.null_count else None
    text = pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ)
    if kind == "O":
        if not text:
            raise ColumnError(f"is {typ}; feature '{feature.name}' takes text (BYTES)")
        values = column.fill_null("").to_numpy(zero_copy_only=False) if nulls is not None else \
            column.to_numpy(zero_copy_only=False)
        return Converted(np.asarray(values, dtype=object), nulls, "missing value")
    if kind == "b":
        if pa.types.is_boolean(typ):
            values = column.fill_null(False).to_numpy(zero_copy_only=False)
            return Converted(values.astype(bool), nulls, "missing value")
        if not text:
            raise ColumnError(f"is {typ}; feature '{feature.name}' takes booleans (BOOL)")
        low = pc.utf8_lower(pc.utf8_trim_whitespace(column)).fill_null("").to_numpy(zero_copy_only=False)
        true = np.isin(low, list(_TRUE))
        bad = ~(true | np.isin(low, list(_FALSE)))
        return _result(true, bad, nulls, "not a boolean (true/false)")
    numeric = pa.types.is_integer(typ) or pa.types.is_floating(typ)
    if not (numeric or text):
        raise ColumnError(f"is {typ}; feature '{feature.name}' takes numbers ({feature.datatype})")
    if text:
        return _parse(feature, column, dtype, nulls)
    if kind == "f":
        values = column.to_numpy(zero_copy_only=False).astype(dtype)  # nulls become NaN: a missing value
        with np.errstate(over="ignore", invalid="ignore"):
            bad = np.isinf(values)
        return Converted(values, bad if bad.any() else None, f"not a finite {feature.datatype} number")
    return _integers(feature, column.to_numpy(zero_copy_only=False), dtype, nulls)


def _parse(feature: Feature, column: Any, dtype: np.dtype, nulls: np.ndarray | None) -> Converted:
    """Text (CSV) -> numbers: one C cast when every value parses, else value by value naming the bad rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(column)
    empty = pc.equal(trimmed, "").fill_null(True).to_numpy(zero_copy_only=False)
    missing = empty if nulls is None else (empty | nulls)
    trimmed = pc.if_else(empty, pa.scalar(None, pa.string()), trimmed)
    try:
        parsed = pc.cast(trimmed, pa.float64() if dtype.kind == "f" else pa.int64())
        flat = parsed.to_numpy(zero_copy_only=False)
        unparsed = None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        flat, unparsed = _parse_each(trimmed.to_numpy(zero_copy_only=False), dtype.kind == "f")
    reason = f"not a finite {feature.datatype} number" if dtype.kind == "f" else "not an integer"
    if dtype.kind == "f":
        values = np.asarray(flat, dtype=np.float64).astype(dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            bad = np.isinf(values)
        if unparsed is not None:
            bad |= unparsed
        values[missing] = np.nan
        return Converted(values, bad if bad.any() else None, reason)
    if unparsed is None:
        return _integers(feature, flat, dtype, missing if missing.any() else None)
    conv = _integers(feature, np.where(unparsed | missing, 0, flat).astype(np.int64), dtype, None)
    bad = unparsed | missing
    if conv.bad is not None:
        bad |= conv.bad
    return Converted(conv.values, bad, f"{reason} (or missing)")


def _parse_each(values: np.ndarray, floats: bool) -> tuple[np.ndarray, np.ndarray]:
    out = np.zeros(len(values), dtype=np.float64 if floats else np.int64)
    bad = np.zeros(len(values), dtype=bool)
    cast = float if floats else int
    for i, v in enumerate(values):
        if v is None:
            out[i] = np.nan if floats else 0
            continue
        try:
            out[i] = cast(v)
        except (ValueError, OverflowError):
            bad[i] = True
    return out, bad


def _integers(feature: Feature, values: np.ndarray, dtype: np.dtype, nulls: np.ndarray | None) -> Converted:
    """Integers (or floats holding integers) -> ``dtype``; non-integral, out of range or missing: bad rows."""
    bad = np.zeros(len(values), dtype=bool) if nulls is None else nulls.copy()
    info = np.iinfo(dtype)
    if values.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad |= ~np.isfinite(values) | (values != np.round(values))
        values = np.where(bad, 0, values)
    with np.errstate(invalid="ignore"):
        bad |= (values < info.min) | (values > info.max)
    out = np.where(bad, 0, values).astype(dtype)
    return Converted(out, bad if bad.any() else None,
                     f"missing, not an integer or out of range for {feature.datatype}")


def _result(values: np.ndarray, bad: np.ndarray, nulls: np.ndarray | None, reason: str) -> Converted:
    if nulls is not None:
        bad = bad | nulls
    return Converted(values, bad if bad.any() else None, reason)
