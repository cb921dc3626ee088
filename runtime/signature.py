"""The model signature (``signature.json`` / ``metadata.json``) and input validation against it.

The document is the build's contract::

    {"name": "quickstart", "version": 1, "task": "classification",
     "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 30]}],
     "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]}, ...],
     "classes": [0, 1], "class_names": ["malignant", "benign"], "feature_names": ["mean radius", ...],
     "features": [{"name": "mean radius", "datatype": "FP32", "input": "input", "index": 0}, ...]}

``features`` (see :mod:`~mlready.runtime.features`) says how named request data maps to the inputs;
``class_names``, parallel to ``classes``, is what answers call the classes.

Without one, the signature is derived from the ONNX graph (symbolic or unknown dimensions become -1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Any

import numpy as np
from mlready.runtime.datatypes import ONNX_TO_V2, V2_TO_NUMPY
from mlready.runtime.errors import BadRequest
from mlready.runtime.features import Feature, FeatureMap, parse_features


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str
    shape: tuple[int, ...]

    @property
    def dtype(self) -> np.dtype:
        return V2_TO_NUMPY[self.datatype]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}

    def shape_ok(self, shape: tuple[int, ...]) -> bool:
        if len(shape) != len(self.shape):
            return False
        return all(want < 0 or want == got for want, got in zip(self.shape, shape, strict=True))

    def example_shape(self, batch: int = 1) -> tuple[int, ...]:
        return tuple(batch if d < 0 else d for d in self.shape)


@dataclass(frozen=True)
class Signature:
    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    version: int | None = None
    task: str | None = None
    classes: tuple[Any, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    features: tuple[Feature, ...] | None = None
    class_names: tuple[str, ...] | None = None
    example: dict[str, Any] | None = None  # one row keyed by feature name (OpenAPI examples), if the build wrote it
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def feature_map(self) -> FeatureMap | None:
        """Named request data -> inputs; None when the signature names no features (positional only)."""
        return FeatureMap(self.features, self.inputs, self.name) if self.features else None

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]

    def input(self, name: str) -> TensorSpec | None:
        for t in self.inputs:
            if t.name == name:
                return t
        return None

    def output(self, name: str) -> TensorSpec | None:
        for t in self.outputs:
            if t.name == name:
                return t
        return None

    @cached_property
    def input_check(self) -> tuple[tuple[str, np.dtype, int, tuple[int, ...]], ...] | None:
        """(name, dtype, rank, trailing dimensions) per input when every input is numeric with only its first
        dimension dynamic: :func:`check_inputs` then passes a request with a few comparisons per input."""
        out = []
        for t in self.inputs:
            if t.dtype.kind == "O" or not t.shape or t.shape[0] >= 0 or any(d < 0 for d in t.shape[1:]):
                return None
            out.append((t.name, t.dtype, len(t.shape), t.shape[1:]))
        return tuple(out)

    @property
    def batchable(self) -> bool:
        """Every input and output has a dynamic first dimension: rows can be concatenated and split."""
        return all(t.shape and t.shape[0] < 0 for t in (*self.inputs, *self.outputs))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
        }
        if self.version is not None:
            out["version"] = self.version
        if self.task is not None:
            out["task"] = self.task
        if self.classes is not None:
            out["classes"] = list(self.classes)
        if self.feature_names is not None:
            out["feature_names"] = list(self.feature_names)
        if self.features is not None:
            out["features"] = [f.to_dict() for f in self.features]
        if self.class_names is not None:
            out["class_names"] = list(self.class_names)
        if self.example is not None:
            out["example"] = dict(self.example)
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "signature") -> Signature:
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object")
        for key in ("inputs", "outputs"):
            if not isinstance(data.get(key), list) or not data[key]:
                raise ValueError(f"{where}: '{key}' must be a non-empty list")
        inputs = tuple(_tensor(t, f"{where}.inputs[{i}]") for i, t in enumerate(data["inputs"]))
        classes = tuple(data["classes"]) if isinstance(data.get("classes"), list) else None
        features = parse_features(data.get("features"), data.get("feature_names"), inputs, where)
        return cls(
            name=str(data.get("name", "")),
            version=data.get("version"),
            task=data.get("task"),
            inputs=inputs,
            outputs=tuple(_tensor(t, f"{where}.outputs[{i}]") for i, t in enumerate(data["outputs"])),
            classes=classes,
            feature_names=tuple(data["feature_names"]) if isinstance(data.get("feature_names"), list) else None,
            features=features,
            class_names=_class_names(data.get("class_names"), classes, where),
            example=_example(data.get("example"), features, where),
        )

    @classmethod
    def from_session(cls, session: Any, name: str, version: int | None = None) -> Signature:
        return cls(
            name=name,
            version=version,
            inputs=tuple(_from_ort(a) for a in session.get_inputs()),
            outputs=tuple(_from_ort(a) for a in session.get_outputs()),
        )

    def checked_against(self, graph: Signature) -> Signature:
        """This (metadata) signature, verified against the ONNX graph's own."""
        for mine, theirs, kind in ((self.inputs, graph.inputs, "input"), (self.outputs, graph.outputs, "output")):
            names = {t.name: t for t in theirs}
            for t in mine:
                if t.name not in names:
                    raise ValueError(f"metadata {kind} '{t.name}' is not an {kind} of model.onnx "
                                     f"(it has: {', '.join(names)})")
                if t.datatype != names[t.name].datatype:
                    raise ValueError(f"metadata {kind} '{t.name}' is {t.datatype}, model.onnx says "
                                     f"{names[t.name].datatype}")
        missing = set(graph.input_names) - set(self.input_names)
        if missing:
            raise ValueError(f"metadata lacks model.onnx input(s): {', '.join(sorted(missing))}")
        return self


def _example(data: Any, features: tuple[Feature, ...] | None, where: str) -> dict[str, Any] | None:
    if data is None:
        return None
    names = [f.name for f in features or ()]
    if not isinstance(data, dict) or sorted(data) != sorted(names):
        raise ValueError(f"{where}.example: expected one row, an object keyed by the feature names "
                         f"({', '.join(names) or 'the signature names no features'})")
    return data


def _class_names(data: Any, classes: tuple | None, where: str) -> tuple[str, ...] | None:
    if data is None:
        return None
    if not isinstance(data, list) or not all(isinstance(n, str) for n in data):
        raise ValueError(f"{where}.class_names: expected a list of strings")
    if classes is None or len(data) != len(classes):
        raise ValueError(f"{where}.class_names: expected one name per entry of 'classes' "
                         f"({0 if classes is None else len(classes)}), got {len(data)}")
    return tuple(data)


def _tensor(data: Any, where: str) -> TensorSpec:
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ValueError(f"{where}: expected an object with a 'name'")
    datatype = data.get("datatype")
    if datatype not in V2_TO_NUMPY:
        raise ValueError(f"{where}.datatype: unknown datatype {datatype!r}")
    shape = data.get("shape", [])
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= -1 for d in shape):
        raise ValueError(f"{where}.shape: expected a list of integers >= -1")
    return TensorSpec(data["name"], datatype, tuple(shape))


def _from_ort(arg: Any) -> TensorSpec:
    datatype = ONNX_TO_V2.get(arg.type)
    if datatype is None:
        raise ValueError(f"tensor '{arg.name}' has unsupported type {arg.type}")
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (arg.shape or []))
    return TensorSpec(arg.name, datatype, shape)


# -- request data -> validated arrays ------------------------------------------------------------------------


#: numpy's own limit is 64 dimensions; a request shape beyond it cannot be a model's input
MAX_DIMS = 64
_NUMBERS = (int, float)
CONVERSION_ERRORS = (ValueError, TypeError, OverflowError, RecursionError, RuntimeError)


def to_array(spec: TensorSpec, data: Any, shape: list[int] | tuple[int, ...] | None = None,
             label: str | None = None) -> np.ndarray:
    """JSON data (nested or flat) for one input -> an array of the input's dtype; 400 naming the input.

    No value is ever changed on the way except by float rounding: numbers only (no null, booleans or numeric
    strings) for numeric inputs, booleans only for BOOL, integers within the datatype's range, floats that stay
    finite in the datatype (JSON cannot spell NaN or infinity, so a non-finite value means overflow).
    """
    dtype = spec.dtype
    if dtype.kind == "O":
        try:
            arr = strings(np.asarray(data, dtype=object))
        except CONVERSION_ERRORS:
            raise BadRequest(f"{label or f'input {spec.name!r}'}: data is not a valid BYTES tensor (nested "
                             f"lists of strings of one shape)") from None
    else:
        arr = numeric(spec, data, label)
    if shape is not None:
        if arr.size != math.prod(shape):
            raise BadRequest(f"input '{spec.name}': {arr.size} values do not fill shape {list(shape)}")
        arr = arr.reshape(shape)
    return arr


#: the JSON (Python) types each numeric kind takes: a float never becomes an integer, a boolean never a number
_LEAF_TYPES = {"f": frozenset((float, int)), "i": frozenset((int,)), "u": frozenset((int,)), "b": frozenset((bool,))}


def numeric(spec: TensorSpec, data: Any, label: str | None = None) -> np.ndarray:
    """The fast path costs a type scan of the leaf lists (in C, ~1 µs per 30 values) and, for floats, one dot
    product (finite iff every value is) on top of the conversion; anything suspicious takes the slow path,
    which names the first bad value."""
    dtype = spec.dtype
    try:
        arr = np.asarray(data, dtype=dtype)  # refuses ragged lists, objects, and integers out of range
    except (*CONVERSION_ERRORS, Warning):
        raise _invalid(spec, data, label) from None
    if arr.size and not _leaves_are(data, arr.ndim, _LEAF_TYPES[dtype.kind]):  # no None, bool, str slipped in
        raise _invalid(spec, data, label)
    if dtype.kind == "f" and arr.size:
        flat = arr.reshape(-1)
        try:
            finite = math.isfinite(flat.dot(flat))  # the squares may overflow where the values do not: then
        except Warning:  # (warnings as errors)                               the exact check decides
            finite = False
        if not finite and not np.isfinite(flat).all():  # a value overflowed to infinity
            raise _invalid(spec, data, label)
    return arr


def _leaves_are(data: Any, ndim: int, types: frozenset) -> bool:
    """Every leaf of a regular nested list of depth ``ndim`` has one of ``types`` (exactly: bool is no int)."""
    if ndim == 0:
        return type(data) in types
    if ndim == 2 and len(data) == 1:  # one row, the common request: no chain
        return types.issuperset(map(type, data[0]))
    for _ in range(ndim - 1):
        data = chain.from_iterable(data)  # the leaves, flattened lazily: the whole scan runs in C
    return types.issuperset(map(type, data))


def _prefix(spec: TensorSpec, label: str | None = None) -> str:
    return f"{label or f'input {spec.name!r}'}: data is not a valid {spec.datatype} tensor"


def _at(index: list[int]) -> str:
    return f"index {index[0]}" if len(index) == 1 else f"{index}"


def _invalid(spec: TensorSpec, data: Any, label: str | None = None) -> BadRequest:
    """The error for data that is not a tensor of the input's datatype, naming the first bad value (slow path)."""
    kind = spec.dtype.kind
    want = "boolean" if kind == "b" else "integer" if kind in "iu" else "number"
    prefix = _prefix(spec, label)
    try:
        items = np.asarray(data, dtype=object)
    except CONVERSION_ERRORS:
        items = None
    if items is None or items.ndim > MAX_DIMS:
        return BadRequest(f"{prefix} (nested lists of {want}s of one shape, at most {MAX_DIMS} levels)")
    types = _LEAF_TYPES[kind]
    info = np.iinfo(spec.dtype) if kind in "iu" else np.finfo(spec.dtype) if kind == "f" else None
    for index in np.ndindex(items.shape):
        item = items[index]
        if type(item) not in types:
            return BadRequest(f"{prefix}: value at {_at(list(index))} is {_kind(item)}, expected {want}")
        if info is not None and not (info.min <= item <= info.max if kind in "iu"
                                     else -float(info.max) <= item <= float(info.max)):
            return BadRequest(f"{prefix}: value at {_at(list(index))} is out of range")
    return BadRequest(f"{prefix} (nested lists of {want}s of one shape)")


def _kind(item: Any) -> str:
    names = {type(None): "null", bool: "a boolean", str: "a string", list: "a list", dict: "an object",
             int: "an integer", float: "a number"}
    return names.get(type(item), type(item).__name__)


def strings(arr: np.ndarray) -> np.ndarray:
    """An object array of str (onnxruntime string tensors); bytes must be UTF-8. ValueError otherwise."""
    flat = arr.reshape(-1)
    for i, item in enumerate(flat):
        if isinstance(item, bytes):
            flat[i] = item.decode("utf-8")  # UnicodeDecodeError is a ValueError
        elif not isinstance(item, str):
            raise ValueError
    return arr


def check_inputs(signature: Signature, arrays: dict[str, np.ndarray]) -> None:
    """Missing or extra inputs, dtype and shape (dynamic dimensions respected) -> 400 naming the input."""
    fast = signature.input_check
    if fast is not None and len(arrays) == len(fast):  # the common case, in a few comparisons per input
        for name, dtype, rank, trailing in fast:
            arr = arrays.get(name)
            if arr is None or arr.dtype != dtype or arr.ndim != rank or arr.shape[1:] != trailing or not arr.shape[0]:
                break
        else:
            return
    for name in arrays:
        if signature.input(name) is None:
            raise BadRequest(f"unknown input '{name}' (model '{signature.name}' takes: "
                             f"{', '.join(signature.input_names)})")
    for spec in signature.inputs:
        arr = arrays.get(spec.name)
        if arr is None:
            raise BadRequest(f"missing input '{spec.name}' (model '{signature.name}' takes: "
                             f"{', '.join(signature.input_names)})")
        if arr.dtype != spec.dtype and not (spec.dtype.kind == "O" and arr.dtype.kind in "OUS"):
            raise BadRequest(f"input '{spec.name}': expected datatype {spec.datatype}, got {arr.dtype}")
        if not spec.shape_ok(arr.shape):
            raise BadRequest(f"input '{spec.name}': expected shape {list(spec.shape)}, got {list(arr.shape)}")
        if arr.size == 0 and spec.shape and spec.shape[0] < 0:
            raise BadRequest(f"input '{spec.name}': empty batch")


def check_outputs(signature: Signature, requested: list[str] | None) -> list[str] | None:
    if requested is None:
        return None
    for name in requested:
        if signature.output(name) is None:
            raise BadRequest(f"unknown output '{name}' (model '{signature.name}' has: "
                             f"{', '.join(signature.output_names)})")
    return requested
