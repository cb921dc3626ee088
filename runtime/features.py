"""Named features: the signature's ``features`` contract, and request data keyed by feature name -> model inputs.

The build writes one entry per column the caller sends, in the data's column order::

    "features": [{"name": "age", "datatype": "INT64", "input": "age", "index": null},
                 {"name": "mean radius", "datatype": "FP32", "input": "input", "index": 0}, ...]

``index`` is the column's position in its input's last dimension, or null when the input is that column alone
(shape ``[-1, 1]`` or ``[-1]``). Signatures built before the contract have only ``feature_names`` and one
numeric matrix input: :func:`parse_features` derives the same entries from them.

:class:`FeatureMap` turns named data into the model's inputs: rows as objects (TF Serving ``instances``, MLflow
``dataframe_records``), rows as lists in feature order (CSV, ``dataframe_split`` without columns) and columns
(TF Serving ``inputs`` as a map, v2 tensors named after features). Each value is checked against its feature's
datatype and errors name the request field. This is a separate branch: positional tensors never come here.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
from mlready.runtime.datatypes import V2_TO_NUMPY
from mlready.runtime.errors import BadRequest

_KEYS = {"name", "datatype", "input", "index"}


@dataclass(frozen=True)
class Feature:
    name: str
    datatype: str  # the v2 datatype the caller's value must fit
    input: str  # the ONNX input it feeds
    index: int | None  # position in that input's last dimension; None: the input is this column alone

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "input": self.input, "index": self.index}


def parse_features(data: Any, feature_names: Any, inputs: tuple, where: str) -> tuple[Feature, ...] | None:
    """The signature's ``features`` (strict: every input covered, no gaps or overlaps), or entries derived from
    ``feature_names`` for one numeric matrix input, or None (positional tensors only). ValueError otherwise."""
    if data is None:
        return _from_names(feature_names, inputs)
    if not isinstance(data, list) or not data:
        raise ValueError(f"{where}.features: expected a non-empty list")
    by_input = {t.name: t for t in inputs}
    features: list[Feature] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        at = f"{where}.features[{i}]"
        if not isinstance(item, dict) or set(item) != _KEYS:
            raise ValueError(f"{at}: expected an object with exactly the keys {', '.join(sorted(_KEYS))}")
        name, datatype, input_name, index = item["name"], item["datatype"], item["input"], item["index"]
        if not isinstance(name, str) or not name:
            raise ValueError(f"{at}.name: expected a non-empty string")
        if name in seen:
            raise ValueError(f"{at}.name: feature '{name}' is listed twice")
        seen.add(name)
        if datatype not in V2_TO_NUMPY:
            raise ValueError(f"{at}.datatype: unknown datatype {datatype!r}")
        spec = by_input.get(input_name) if isinstance(input_name, str) else None
        if spec is None:
            raise ValueError(f"{at}.input: {input_name!r} is not an input of the model "
                             f"(it has: {', '.join(by_input)})")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
            raise ValueError(f"{at}.index: expected null or an integer >= 0")
        if (datatype == "BYTES") != (spec.datatype == "BYTES"):
            raise ValueError(f"{at}.datatype: a {datatype} feature cannot feed the {spec.datatype} input "
                             f"'{spec.name}'")
        features.append(Feature(name, datatype, input_name, index))
    for spec in inputs:
        mine = [f for f in features if f.input == spec.name]
        if not mine:
            raise ValueError(f"{where}.features: no feature feeds input '{spec.name}'")
        if any(f.index is None for f in mine):
            if len(mine) != 1 or len(spec.shape) not in (1, 2) or (len(spec.shape) == 2 and spec.shape[1] != 1):
                raise ValueError(f"{where}.features: input '{spec.name}' (shape {list(spec.shape)}) must be one "
                                 f"column ([-1] or [-1, 1]) alone to take feature '{mine[0].name}' with index null")
            continue
        width = spec.shape[-1] if len(spec.shape) == 2 else None
        if len(spec.shape) != 2 or sorted(f.index for f in mine) != list(range(len(mine))) or \
                width not in (-1, len(mine)):
            raise ValueError(f"{where}.features: the indexes of input '{spec.name}' (shape {list(spec.shape)}) "
                             f"must be 0..{len(mine) - 1} once each, filling its last dimension")
    return tuple(features)


def _from_names(names: Any, inputs: tuple) -> tuple[Feature, ...] | None:
    if not isinstance(names, list) or len(inputs) != 1:
        return None
    spec = inputs[0]
    if spec.datatype == "BYTES" or len(spec.shape) != 2 or spec.shape[1] not in (-1, len(names)):
        return None
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        return None
    return tuple(Feature(n, spec.datatype, spec.name, i) for i, n in enumerate(names))


# -- named request data -> model inputs ----------------------------------------------------------------------

MAX_PROBED = 1000  # float features probed for missing values (FeatureMap.probe_missing); the rest take nulls

#: the JSON (Python) types a feature's values may have on the fast path (exactly: a bool is no int)
_FAST_TYPES = {"f": frozenset((float, int)), "i": frozenset((int,)), "u": frozenset((int,)),
               "b": frozenset((bool,)), "O": frozenset((str,))}


def _values(feature: Feature, values: Any, where: str, nan_ok: bool = True) -> np.ndarray:
    """One column's values (a list of scalars, one per row) -> a 1-D array of the feature's dtype. JSON null is a
    missing value (NaN) for FP16/FP32/FP64 features, as in pandas, unless the model cannot take one there
    (``nan_ok`` False: :meth:`FeatureMap.refuse_missing`); everything else is checked as in
    :func:`~mlready.runtime.signature.to_array`, naming the feature and the request field."""
    from mlready.runtime.signature import TensorSpec, to_array

    spec = TensorSpec(feature.name, feature.datatype, (-1,))
    label = f"{where}, feature '{feature.name}'"
    if feature.datatype == "BYTES" and isinstance(values, list) and any(type(v) is dict for v in values):
        from mlready.runtime.codec_tfserving import _unb64  # TF Serving's {"b64": ...} binary strings

        values = [_unb64(v) if type(v) is dict else v for v in values]
    if feature.datatype == "BYTES" and isinstance(values, list):  # a text feature: name the row and what came
        from mlready.runtime.signature import _kind

        for i, v in enumerate(values):
            if not isinstance(v, str | bytes):
                raise BadRequest(f"{label}: value at index {i} is {_kind(v)}, expected text (a JSON string)")
    try:
        arr = to_array(spec, values, label=label)
    except BadRequest:
        if spec.dtype.kind != "f" or not isinstance(values, list) or None not in values:
            raise
        missing = [v is None for v in values]
        if not nan_ok:
            raise BadRequest(f"{label}: null (a missing value) at row {missing.index(True)}, but this model has no "
                             f"imputer for the feature (a missing value makes its answer NaN); send a number") from None
        arr = to_array(spec, [0.0 if m else v for m, v in zip(missing, values, strict=True)], label=label)
        arr[np.asarray(missing)] = math.nan
    if arr.ndim != 1:
        if arr.ndim == 2 and arr.shape[1] == 1:
            return arr.reshape(-1)
        raise BadRequest(f"{label}: expected one value per row, got shape {list(arr.shape)}")
    return arr


class _Column:
    """One feature, ready to convert: its dtype, the value types of the fast path, where it goes."""

    __slots__ = ("feature", "name", "dtype", "types", "float", "input", "index", "cast", "column_shape", "nan_ok")

    def __init__(self, feature: Feature, spec: Any):
        self.feature = feature
        self.name = feature.name
        self.dtype = V2_TO_NUMPY[feature.datatype]
        self.types = _FAST_TYPES[self.dtype.kind]
        self.float = self.dtype.kind == "f"
        self.input = spec.name
        self.index = feature.index
        self.cast = spec.dtype if spec.dtype != self.dtype else None  # e.g. an INT64 feature of an FP32 input
        self.column_shape = (-1, 1) if len(spec.shape) == 2 else (-1,)  # an input that is this column alone
        self.nan_ok = True  # a null (missing value) is NaN; False: the model cannot take one (refuse_missing)

    def convert(self, values: list, where: str) -> np.ndarray:
        """The fast path (exact value types, one C conversion, one finiteness check), else :func:`_values`."""
        if type(values) is list and values and self.types.issuperset(map(type, values)):
            try:
                arr = np.array(values, dtype=self.dtype)
                if not self.float or math.isfinite(arr.dot(arr)) or np.isfinite(arr).all():
                    return arr
            except (OverflowError, ValueError, Warning):  # out of range (warnings may be errors): the slow path
                pass
        return _values(self.feature, values, where, self.nan_ok)


class FeatureMap:
    """A signature's features, ready to turn named data into its inputs (built once per model version)."""

    def __init__(self, features: tuple[Feature, ...], inputs: tuple, model: str):
        self.features = features
        self.model = model
        self.names = [f.name for f in features]
        self.by_name = {f.name: f for f in features}
        self._name_set = frozenset(self.names)
        self._inputs = inputs
        self._get = itemgetter(*self.names)
        by_input = {t.name: t for t in inputs}
        self._columns = [_Column(f, by_input[f.input]) for f in features]
        # per input: its spec and the columns that fill it (index None: the input is that column alone)
        self._plan = [(spec, [c for c in self._columns if c.input == spec.name]) for spec in inputs]
        # one matrix input fed by every feature with the same datatype: rows convert in one C call
        one = inputs[0] if len(inputs) == 1 else None
        self.matrix = one if one is not None and all(f.index is not None and f.datatype == one.datatype
                                                     for f in features) else None
        order = [f.index for f in features]  # rows in feature order -> the matrix's columns, when they differ
        self._reorder = None if self.matrix is None or order == list(range(len(order))) else np.argsort(order)
        from mlready.runtime.signature import TensorSpec  # (signature imports this module)

        #: per feature, the spec of a tensor of its own: one value per row, of the feature's datatype
        self.column_specs = {f.name: TensorSpec(f.name, f.datatype, (-1,)) for f in features}
        #: the names a v2 request tensor is a feature column by (one that is also the name of the matrix input it
        #: is a column of means that input)
        self.feature_tensors = frozenset(f.name for f in features if f.index is None or f.name not in by_input)
        self.no_missing: tuple[str, ...] = ()  # the float features a null is refused for (refuse_missing)

    def probe_missing(self, run: Any, example: dict[str, Any] | None = None) -> list[str]:
        """Which float features the model cannot take a missing value (NaN) for, refused from now on (and
        returned): ``run(inputs)`` -> the model's outputs, called once with one row per float feature (up to
        :data:`MAX_PROBED`), ``example`` (or zeros) with that feature NaN, and a row without. A row whose float
        outputs are not finite means no imputer for its feature. Unknown (the run fails, the row without NaN is
        not finite, a fixed batch size): nulls stay missing values."""
        floats = [c for c in self._columns if c.float][:MAX_PROBED]
        if not floats:
            return []
        example = example or {}
        rows = len(floats) + 1  # the last row: no NaN
        data = {}
        for c in self._columns:
            base = example.get(c.name)
            if base is None:
                base = "" if c.dtype.kind == "O" else 0
            data[c.name] = np.full(rows, base, dtype=c.dtype)
        for i, c in enumerate(floats):
            data[c.name][i] = np.nan
        try:
            outputs = run(self.assemble(data, rows))
        except Exception:  # noqa: BLE001 - a graph that cannot take the probe: nothing learned
            return []
        bad = np.zeros(rows, dtype=bool)
        for out in outputs:
            if isinstance(out, np.ndarray) and out.dtype.kind == "f" and out.ndim and out.shape[0] == rows:
                bad |= ~np.isfinite(out.reshape(rows, -1)).all(axis=1)
        if bad[-1]:
            return []
        refused = [c.name for c, b in zip(floats, bad[:-1], strict=True) if b]
        self.refuse_missing(refused)
        return refused

    def refuse_missing(self, names: Any) -> None:
        """Float features the model answers NaN for when their value is missing (no imputer): a null there is a
        400 naming the feature and row, instead of an answer of NaN probabilities and an arbitrary label."""
        refused = set(names)
        for c in self._columns:
            if c.name in refused:
                c.nan_ok = False
        self.no_missing = tuple(c.name for c in self._columns if not c.nan_ok)

    # -- errors ----------------------------------------------------------------------------------------------

    def unknown(self, name: str, where: str | None, inputs: list[str] | None = None) -> BadRequest:
        """Unknown feature ``name`` in request field ``where``, with a did-you-mean and the list; ``inputs``: the
        request could also have sent the model's inputs (v2), so they are named too."""
        # difflib indexes the query's characters: a long one is cut first (a 16 MB key would cost seconds)
        close = difflib.get_close_matches(name[:200], self.names + (inputs or []), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        what = "input" if inputs else "feature"
        takes = f"the features: {', '.join(self.names)}"
        if inputs:
            takes += f"; or its inputs: {', '.join(inputs)}"
        return BadRequest(f"{where + ': ' if where else ''}unknown {what} '{name[:100]}'{hint}; model "
                          f"'{self.model}' takes {takes}")

    def check_names(self, names: Any, where: str) -> None:
        """``names`` (keys of a row or of a column map) must be exactly the features: unknown, then missing."""
        for name in names:
            if name not in self._name_set:
                raise self.unknown(str(name), where)
        missing = [n for n in self.names if n not in names]
        if missing:
            raise BadRequest(f"{where}: missing feature{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(repr(n) for n in missing)} (model '{self.model}' takes: "
                             f"{', '.join(self.names)})")

    # -- the request forms -----------------------------------------------------------------------------------

    def from_records(self, rows: list, where: str) -> dict[str, np.ndarray]:
        """Rows as objects keyed by feature name (every row the same keys)."""
        names = self._name_set
        for i, row in enumerate(rows):
            if type(row) is not dict:
                raise BadRequest(f"{where}[{i}]: expected an object keyed by feature name")
            if row.keys() != names:
                self.check_names(row, f"{where}[{i}]")
        if self.matrix is not None:
            return self._matrix(list(map(self._get, rows)) if len(self.names) > 1
                                else [(r[self.names[0]],) for r in rows], where)
        return self._convert({c.name: [r[c.name] for r in rows] for c in self._columns}, where)

    def from_lists(self, rows: list, where: str) -> dict[str, np.ndarray]:
        """Rows as lists of values in feature order (CSV rows, ``dataframe_split`` data)."""
        width = len(self.names)
        for i, row in enumerate(rows):
            if not isinstance(row, list | tuple) or len(row) != width:
                raise BadRequest(f"{where}[{i}]: expected a list of {width} values in feature order "
                                 f"({', '.join(self.names)}) or an object keyed by feature name")
        if self.matrix is not None:
            return self._matrix(rows, where)
        return self._convert(dict(zip(self.names, map(list, zip(*rows, strict=True)), strict=True)), where)

    def from_columns(self, columns: dict[str, Any], where: str) -> dict[str, np.ndarray]:
        """Columns keyed by feature name: lists of values, or arrays already of the feature's dtype."""
        if columns.keys() != self._name_set:
            self.check_names(columns, where)
        return self._convert(columns, where)

    def _convert(self, columns: dict[str, Any], where: str) -> dict[str, np.ndarray]:
        arrays = {}
        rows = -1
        for c in self._columns:
            col = columns[c.name]
            arr = col if isinstance(col, np.ndarray) else c.convert(col, where)
            if rows < 0:
                rows = len(arr)
            elif len(arr) != rows:
                raise BadRequest(f"{where}, feature '{c.name}': {len(arr)} values, but "
                                 f"'{self.names[0]}' has {rows}")
            arrays[c.name] = arr
        return self.assemble(arrays, max(rows, 0))

    def assemble(self, columns: dict[str, np.ndarray], rows: int) -> dict[str, np.ndarray]:
        """1-D arrays per feature -> the model's inputs (matrix columns, or one column per input)."""
        out: dict[str, np.ndarray] = {}
        for spec, mine in self._plan:
            first = mine[0]
            if first.index is None:
                col = columns[first.name]
                if first.cast is not None:
                    col = col.astype(first.cast)
                out[spec.name] = col.reshape(first.column_shape)
                continue
            arr = np.empty((rows, len(mine)), dtype=spec.dtype)
            for c in mine:
                arr[:, c.index] = columns[c.name]
            out[spec.name] = arr
        return out

    def _matrix(self, rows: list, where: str) -> dict[str, np.ndarray]:
        """Rows of values in feature order for one matrix input: checked like a positional tensor, except that
        null is a missing value (NaN) in a float matrix."""
        from mlready.runtime.signature import to_array

        spec = self.matrix
        assert spec is not None
        try:
            arr = to_array(spec, rows, label=where)
        except BadRequest:
            columns = list(zip(*rows, strict=True))  # slow path: per feature, naming the bad one
            return self.from_columns({n: list(c) for n, c in zip(self.names, columns, strict=True)}, where)
        if arr.ndim != 2:
            raise BadRequest(f"{where}: expected one value per feature in each row")
        if self._reorder is not None:
            arr = arr[:, self._reorder]
        return {spec.name: arr}
