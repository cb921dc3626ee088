"""One table column (Arrow) -> the 1-D array its feature takes, and which rows cannot be scored and why.

The checks are the server's (:mod:`~mlready.runtime.features`): numbers for numeric features (a missing value
is NaN for FP16/FP32/FP64 features, as JSON null is, unless the model has no imputer for the feature: then, as
elsewhere, it is a bad row, see ``TableScorer.score``), integers that fit for integer
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
from mlready.runtime.score import arrays

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
        if kind == "O" and _is_text(typ.value_type):
            return _text(column)
        column = column.cast(typ.value_type)
        typ = column.type
    text = _is_text(typ)
    if kind == "O":
        if not text:
            raise ColumnError(f"is {typ}; feature '{feature.name}' takes text (BYTES)")
        return _text(column)
    missing = arrays.nulls(column)
    if kind == "b":
        if pa.types.is_boolean(typ):
            values = arrays.to_numpy(column)
            return Converted(values & ~missing if missing is not None else values, missing, "missing value")
        if not text:
            raise ColumnError(f"is {typ}; feature '{feature.name}' takes booleans (BOOL)")
        names, codes, _ = _dictionary(pc.utf8_lower(pc.utf8_trim_whitespace(column)))
        true = np.isin(names, list(_TRUE))[codes]
        bad = ~(true | np.isin(names, list(_FALSE))[codes])
        return _result(true, bad, missing, "not a boolean (true/false)")
    numeric = pa.types.is_integer(typ) or pa.types.is_floating(typ)
    if not (numeric or text):
        raise ColumnError(f"is {typ}; feature '{feature.name}' takes numbers ({feature.datatype})")
    if text:
        return _parse(feature, column, dtype, missing)
    if kind == "f":
        values = arrays.to_numpy(column).astype(dtype)
        if missing is not None:
            values[missing] = np.nan  # a missing value
        with np.errstate(over="ignore", invalid="ignore"):
            bad = np.isinf(values)
        return Converted(values, bad if bad.any() else None, f"not a finite {feature.datatype} number")
    return _integers(feature, arrays.to_numpy(column), dtype, missing)


def _is_text(typ: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ))


def _dictionary(column: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A text column as (its distinct values with "" last, each row's index into them, the missing rows):
    a missing value points at the ""."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    names = np.array([*encoded.dictionary.to_pylist(), ""], dtype=object)
    missing = arrays.nulls(encoded.indices)
    codes = arrays.to_numpy(encoded.indices)
    if missing is not None:
        codes = np.where(missing, len(names) - 1, codes)
    return names, codes, missing


def _text(column: Any) -> Converted:
    """Text -> an object array through its dictionary: one Python str per distinct value, which the rows refer
    to (a str per row cost twice as much). A missing value is a bad row (it holds "")."""
    names, codes, missing = _dictionary(column)
    return Converted(names[codes], missing, "missing value")


def _parse(feature: Feature, column: Any, dtype: np.dtype, nulls: np.ndarray | None) -> Converted:
    """Text (CSV) -> numbers: one C cast when every value parses, else value by value naming the bad rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(column)
    if isinstance(trimmed, pa.ChunkedArray):
        trimmed = trimmed.combine_chunks()
    empty = arrays.to_numpy(pc.utf8_length(trimmed)) == 0
    missing = empty if nulls is None else (empty | nulls)
    trimmed = pc.if_else(arrays.from_numpy(~missing), trimmed, pa.nulls(len(trimmed), trimmed.type))
    try:
        flat = arrays.to_numpy(pc.cast(trimmed, pa.float64() if dtype.kind == "f" else pa.int64()))
        unparsed = None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = _text(trimmed).values
        text[missing] = None
        flat, unparsed = _parse_each(text, dtype.kind == "f")
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
