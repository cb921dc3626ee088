"""A TensorFlow function -> ONNX, with tf2onnx: shared by the ``keras`` and ``tensorflow`` (SavedModel) formats.

The loader hands over a :class:`TfGraph`: the model's named inputs (name, dtype, shape) and a function taking
one tensor per input and returning the model's one output tensor. It is traced as a ``tf.function`` with a
dynamic batch axis and converted with ``tf2onnx.convert.from_function`` (the ONNX inputs keep the model's
input names). The network's output becomes the served outputs through :mod:`.head`:

- one column ending in a sigmoid: a binary classifier (``model.task: auto``), its output read as ``p``;
- k >= 2 columns: a classifier of classes ``0..k-1``; a final softmax is read as probabilities, anything else
  as logits (a softmax is added);
- any other single column: a regression (``prediction``).

tf2onnx leaves a TensorFlow op it cannot convert in the graph; such ops are named (with the Keras layer they
belong to) and the model is refused. Inputs bind to the data's feature columns by the usual rule
(``_shared/feeds.py``): one matrix input takes every column in order; several inputs take one column each,
each named after its column. TensorFlow is an optional extra, imported here only when a model is converted.

Limits that remain (tf2onnx 1.17): ops without an ONNX conversion (``Lgamma``, the Bessel functions, ...) are
refused by name; models with several outputs, or inputs that are not table columns (images, sequences) fed
from tabular data, are refused; a Keras model's training loop is not in its file, so only a ``model.trainer``
returning the model is cross-validated.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlready.generators.model.head import SCORES, append_head, postprocess
from mlready.generators.model.source import ModelSourceError, SourceModel

if TYPE_CHECKING:
    import numpy as np

#: distributions whose versions shape the converted model (either TensorFlow wheel may be installed)
TOOLS = ("tensorflow-cpu", "tensorflow", "keras", "tf2onnx")
REQUIRES = ("tensorflow", "tf2onnx")
INSTALL = "pip install 'mlready[tensorflow]'"
ROWS_PER_CALL = 4096  # the source model's predictions run in chunks of this many rows

TF_TO_V2 = {
    "float32": "FP32", "float64": "FP64", "float16": "FP16", "bfloat16": "BF16",
    "int64": "INT64", "int32": "INT32", "int16": "INT16", "int8": "INT8",
    "uint64": "UINT64", "uint32": "UINT32", "uint16": "UINT16", "uint8": "UINT8",
    "bool": "BOOL", "string": "BYTES",
}


def import_tf() -> Any:
    """tensorflow, or a located error saying how to install it. Unless the environment says otherwise, its
    C++ info logs are off and so are oneDNN's custom ops (whose results may differ from run to run by
    round-off: the source model is the reference the ONNX model is compared with; off, TensorFlow also
    prints nothing when it is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        import tensorflow as tf
        import tf2onnx  # noqa: F401  (checked here: the conversion needs it)
    except ImportError as exc:
        raise ModelSourceError(f"{exc.name or 'tensorflow'} is not installed: Keras and TensorFlow models need "
                               f"the optional extra: {INSTALL}") from None
    return tf


@dataclass(frozen=True)
class TfInput:
    name: str
    dtype: str  # a TensorFlow dtype name: float32, int64, string, ...
    shape: tuple[int | None, ...]  # the batch axis first (None)

    @property
    def datatype(self) -> str:
        return TF_TO_V2.get(self.dtype, self.dtype)

    def v2(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": [-1 if d is None else d for d in self.shape]}

    def shown(self) -> str:
        return f"{self.name!r} {self.v2()['shape']} {self.datatype}"


@dataclass
class TfGraph:
    """What a loader found: the inputs, the function to convert, and names for messages and notes."""

    inputs: list[TfInput]
    call: Callable[..., Any]  # (*tensors, one per input, in order) -> the output tensor
    title: str  # "Keras Sequential", "SavedModel signature 'serving_default'"
    layers: Sequence[str] = field(default_factory=tuple)  # Keras layer names (to place an unsupported op)
    trackable: Any = None  # the Keras model or loaded SavedModel: tf2onnx reads its lookup tables' contents


def _one_column(inp: TfInput) -> bool:
    return len(inp.shape) == 1 or (len(inp.shape) == 2 and inp.shape[1] == 1)


def check_inputs(graph: TfGraph, columns: Sequence[str] | None, origin: str) -> list[str] | None:
    """The feature names, in the data's column order (None: unknown); refuses inputs the data cannot feed."""
    inputs = graph.inputs
    if len(inputs) == 1:
        inp = inputs[0]
        if len(inp.shape) > 2:
            if columns is None:
                return None
            raise ModelSourceError(f"{origin}: the input {inp.shown()} is not a table row; mlready evaluates "
                                   "models on tabular data (one feature column per value)")
        width = inp.shape[1] if len(inp.shape) == 2 else 1
        if columns is not None and width is not None and width != len(columns):
            shown = ", ".join(columns[:6]) + (f", … ({len(columns)} in all)" if len(columns) > 6 else "")
            raise ModelSourceError(f"{origin}: the input {inp.shown()} takes {width} feature(s) but the data has "
                                   f"{len(columns)} feature columns ({shown}); list the model's columns in "
                                   "data.features")
        return list(columns) if columns is not None else None
    wide = [i for i in inputs if not _one_column(i)]
    names = [i.name for i in inputs]
    if wide:
        raise ModelSourceError(
            f"{origin}: a model with several inputs takes one feature column per input, each named after its "
            f"column; input {wide[0].shown()} is not one column"
        )
    if columns is None:
        return names
    missing = [n for n in names if n not in columns]
    unused = [c for c in columns if c not in names]
    if missing or unused:
        what = (f"the input(s) {', '.join(map(repr, missing))} name no data column" if missing else
                f"the data column(s) {', '.join(map(repr, unused))} feed no input")
        raise ModelSourceError(f"{origin}: {what}; each input of a multi-input model is the feature column of "
                               f"its name (inputs: {', '.join(names)}; columns: {', '.join(columns)}); list the "
                               "model's columns in data.features")
    return list(columns)


def _rank1_feature(inputs: Sequence[TfInput], names: Sequence[str] | None) -> list[dict[str, Any]] | None:
    """The binding of a model whose one input is a flat ``[batch]`` tensor: that input is the one column."""
    if len(inputs) != 1 or len(inputs[0].shape) != 1 or not names or len(names) != 1:
        return None
    return [{"name": names[0], "datatype": inputs[0].datatype, "input": inputs[0].name, "index": None}]


def _feeds(inputs: Sequence[TfInput], X: Any) -> list[np.ndarray]:
    """Rows (a DataFrame of feature columns, or a numeric array in feature order) -> one array per input."""
    import numpy as np

    if hasattr(X, "columns"):
        from mlready.generators._shared.feeds import bind_features, frame_feeds

        v2 = [i.v2() for i in inputs]
        features = _rank1_feature(inputs, [str(c) for c in X.columns]) or bind_features(v2, [str(c) for c in X.columns])
        if features is None:
            raise ModelSourceError("the source model's inputs cannot be fed from the columns "
                                   f"{', '.join(map(str, X.columns))}")
        feeds = frame_feeds(X, v2, features, "the source model's rows")
        return [feeds[i.name] for i in inputs]
    X = np.asarray(X)
    if len(inputs) == 1:
        inp = inputs[0]
        arr = X.reshape(-1) if len(inp.shape) == 1 else X
        return [arr.astype(inp.dtype) if inp.dtype != "string" else arr.astype(object)]
    out = []
    for j, inp in enumerate(inputs):
        col = X[:, j].astype(inp.dtype if inp.dtype != "string" else object)
        out.append(col if len(inp.shape) == 1 else col.reshape(-1, 1))
    return out


class TfPredictor:
    """The TensorFlow model with scikit-learn's predict/predict_proba (parity with its ONNX export)."""

    def __init__(self, fn: Any, inputs: Sequence[TfInput], task: str, classes: list[int] | None,
                 activation: str | None, feature_names: list[str] | None,
                 rebuild: Callable[[Any], TfGraph] | None = None):
        import numpy as np

        self.fn, self.inputs, self.task, self.activation = fn, list(inputs), task, activation
        self.feature_names, self.rebuild = feature_names, rebuild
        self.keras_model: Any = None  # the Keras model, when there is one
        self.classes = classes or []
        if classes is not None:
            self.classes_ = np.asarray(classes)
        if feature_names is not None:  # readiness then passes a DataFrame of these columns
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)

    @property
    def module(self) -> Any:
        """The Keras model (reports name its class, as for a torch module); none for a SavedModel."""
        if self.keras_model is None:
            raise AttributeError("module")
        return self.keras_model

    def scores(self, X: Any) -> np.ndarray:
        import numpy as np

        tf = import_tf()
        arrays = _feeds(self.inputs, X)
        n = len(arrays[0]) if arrays else 0
        parts = []
        for start in range(0, n, ROWS_PER_CALL):
            chunk = [tf.constant(a[start:start + ROWS_PER_CALL]) for a in arrays]
            parts.append(np.asarray(self.fn(*chunk)[SCORES]))
        return np.concatenate(parts) if parts else np.zeros((0, 1))

    def refitted(self, model: Any) -> TfPredictor:
        """The same network retrained (a trainer's model on a cross-validation fold), answering like this one:
        same inputs, task, classes and reading of its outputs."""
        if self.rebuild is None:
            raise ModelSourceError("this TensorFlow model cannot be retrained")
        graph = self.rebuild(model)
        fn, _ = _traced(import_tf(), graph)
        return TfPredictor(fn, graph.inputs, self.task, self.classes or None, self.activation, self.feature_names,
                           self.rebuild)

    def predict(self, X: Any) -> np.ndarray:
        return postprocess(self.scores(X), self.task, self.classes, self.activation)[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.task != "classification":
            raise AttributeError("predict_proba is for classifiers")
        proba = postprocess(self.scores(X), self.task, self.classes, self.activation)[1]
        if proba is None:  # a classifier always has them (see head.postprocess)
            raise AttributeError("no class probabilities")
        return proba


def _traced(tf: Any, graph: TfGraph) -> tuple[Any, list[Any]]:
    signature = [tf.TensorSpec(i.shape, tf.as_dtype(i.dtype), name=i.name) for i in graph.inputs]

    def serve(*tensors: Any) -> dict[str, Any]:
        return {SCORES: graph.call(*tensors)}

    return tf.function(serve, input_signature=signature), signature


def _probe(tf: Any, fn: Any, graph: TfGraph, sample: Any, origin: str) -> np.ndarray:
    """The output on the sample rows (zeros without data): checks the model runs and gives its width."""
    import numpy as np

    if sample is not None and len(sample):
        arrays = _feeds(graph.inputs, sample)
    else:
        arrays = [np.zeros([2, *[d or 1 for d in i.shape[1:]]], dtype=i.dtype if i.dtype != "string" else object)
                  for i in graph.inputs]
        arrays = [a if a.dtype != object else np.full(a.shape, "", dtype=object) for a in arrays]
    try:
        out = fn(*[tf.constant(a) for a in arrays])[SCORES]
    except Exception as exc:
        first = (str(exc).strip().split("\n") or [""])[0] or type(exc).__name__
        raise ModelSourceError(f"{origin}: the model fails on sample rows: {first}") from None
    out = np.asarray(out)
    if out.ndim not in (1, 2):
        raise ModelSourceError(f"{origin}: the model's output has shape {list(out.shape)}; mlready serves one "
                               "[batch] or [batch, k] output")
    return out


def _layer(node_name: str, layers: Sequence[str]) -> str | None:
    """The Keras layer a TensorFlow op belongs to, from its name scope ("functional_1/odd_1/Lgamma")."""
    known = set(layers)
    for part in node_name.split("/")[:-1]:
        for name in (part, re.sub(r"_\d+$", "", part)):
            if name in known:
                return name
    return None


def _unsupported(onx: Any, graph: TfGraph, origin: str) -> None:
    from onnx import defs

    found: dict[str, str] = {}
    for node in onx.graph.node:
        if not defs.has(node.op_type, node.domain or ""):
            layer = _layer(node.name, graph.layers)
            where = f"layer {layer!r}" if layer else f"node {node.name.rsplit('/', 1)[0]!r}"
            found.setdefault(f"{node.op_type} ({where})", node.op_type)
    if found:
        raise ModelSourceError(
            f"{origin}: tf2onnx cannot convert the TensorFlow op(s) {', '.join(found)}: they have no ONNX "
            "equivalent in tf2onnx; build the model from supported operations (the tf2onnx support table "
            "lists them)"
        )


#: the lookup ops tf2onnx makes of TensorFlow hash tables: (op, key attribute, value attribute) pairs
_TABLES = {"CategoryMapper": (("cats_strings", "cats_int64s"),),
           "LabelEncoder": tuple((f"keys_{k}", f"values_{v}") for k in ("strings", "int64s", "floats")
                                 for v in ("strings", "int64s", "floats"))}


def _canonical_tables(onx: Any) -> None:
    """Lookup tables in key order: TensorFlow exports a hash table's entries in its hash order, which changes
    from process to process (the same model would convert to different bytes)."""
    from onnx import helper

    for node in onx.graph.node:
        for key_name, value_name in _TABLES.get(node.op_type, ()):
            attrs = {a.name: a for a in node.attribute}
            if key_name not in attrs or value_name not in attrs:
                continue
            keys = list(helper.get_attribute_value(attrs[key_name]))
            values = list(helper.get_attribute_value(attrs[value_name]))
            if len(keys) != len(values):
                continue
            pairs = sorted(zip(keys, values, strict=True), key=lambda kv: kv[0])
            for name, items in ((key_name, [k for k, _ in pairs]), (value_name, [v for _, v in pairs])):
                attrs[name].CopyFrom(helper.make_attribute(name, items))


def _final_op(onx: Any, output: str) -> str:
    """The op producing ``output``, looking through Identity nodes."""
    producers = {o: n for n in onx.graph.node for o in n.output}
    node = producers.get(output)
    while node is not None and node.op_type == "Identity":
        node = producers.get(node.input[0])
    return node.op_type if node is not None else ""


def _head(spec: Any, onx: Any, out: np.ndarray, origin: str) -> tuple[str, int, list[int] | None, str | None, str]:
    """(task, width, classes, activation, note) from the output's width and the graph's final op."""
    width = 1 if out.ndim == 1 else int(out.shape[1])
    final = _final_op(onx, SCORES)
    if spec.model.task != "auto":
        task = spec.model.task
    else:
        task = "classification" if width > 1 or final == "Sigmoid" else "regression"
    if task == "regression":
        if width != 1:
            raise ModelSourceError(f"{origin}: a regression model answers one number per row; this one answers "
                                   f"{width} (set model.task: classification if they are class scores)")
        return task, width, None, None, "one output column: served as a regression (prediction)"
    classes = list(range(2 if width == 1 else width))
    if width == 1:
        prob = final == "Sigmoid"
        activation = None if prob else "sigmoid"
        note = "one output column " + ("ending in a sigmoid: read as P(class 1)" if prob
                                      else "read as a logit of class 1 (sigmoid added)")
    else:
        activation = None if final == "Softmax" else "softmax"
        note = (f"{width} output columns ending in a softmax: read as class probabilities" if activation is None
                else f"{width} output columns read as logits (softmax added)")
    return task, width, classes, activation, note


@contextmanager
def _quiet() -> Iterator[None]:
    """tf2onnx's and TensorFlow's Python loggers below errors while converting (their warnings and info are
    about the graph rewriting, not the user's model), then as they were."""
    loggers = [logging.getLogger("tf2onnx"), logging.getLogger("tensorflow")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _from_function(tf: Any, fn: Any, signature: list[Any], opset: int, trackable: Any) -> Any:
    """``tf2onnx.convert.from_function`` with the graph inputs limited to the function's arguments, frozen
    the way ``from_keras`` freezes a model (with the contents of its lookup tables).

    tf2onnx 1.17's ``from_function`` lists every non-resource input of the concrete function as a graph input,
    including the eager tensors the function captures (a Keras ``Normalization`` layer's mean and variance, in
    a Keras model or a SavedModel alike): the ONNX model would ask callers for them. Freezing turns those
    captures into constants, so only the arguments are inputs here. ``from_keras`` itself fails on Keras 3
    models (it looks up the outputs by Keras 2 tensor names: onnx/tensorflow-onnx#2448), hence this."""
    from tf2onnx import tf_loader
    from tf2onnx.convert import _convert_common, tensor_names_from_structed

    concrete = fn.get_concrete_function(*signature)
    input_names = [t.name for t in concrete.inputs[: len(signature)]]
    output_names = [t.name for t in concrete.outputs if t.dtype != tf.dtypes.resource]
    renames = tensor_names_from_structed(concrete, input_names, output_names)
    with tf.device("/cpu:0"):
        if trackable is not None:
            frozen, tables = tf_loader.from_trackable(trackable, concrete, input_names, output_names, False)
        else:
            frozen, tables = tf_loader.from_function(concrete, input_names, output_names), None
        onx, _ = _convert_common(frozen, name="mlready", continue_on_error=True, opset=opset,
                                 input_names=input_names, output_names=output_names, tensors_to_rename=renames,
                                 initialized_tables=tables)
    return onx


def convert(spec: Any, graph: TfGraph, sample: Any, origin: str,
            rebuild: Callable[[Any], TfGraph] | None = None) -> SourceModel:
    """Trace, convert, check and add the served outputs. ``rebuild`` makes the graph of a retrained model of
    the same kind (a trainer's Keras model: cross-validation)."""
    import onnx

    tf = import_tf()
    columns = [str(c) for c in sample.columns] if sample is not None and hasattr(sample, "columns") else None
    feature_names = check_inputs(graph, columns, origin)
    fn, signature = _traced(tf, graph)
    out = _probe(tf, fn, graph, sample, origin)
    try:
        with _quiet():  # a build says what it decided (the notes); unsupported ops are reported below, by name
            # a function of its own: freezing rewires the captures of the concrete function it converts
            onx = _from_function(tf, _traced(tf, graph)[0], signature, spec.model.opset, graph.trackable)
    except Exception as exc:
        first = (str(exc).strip().split("\n") or [""])[0] or type(exc).__name__
        raise ModelSourceError(f"{origin}: tf2onnx cannot convert the model: {type(exc).__name__}: {first}") from None
    _unsupported(onx, graph, origin)
    if [o.name for o in onx.graph.output] != [SCORES]:
        raise ModelSourceError(f"{origin}: the converted graph has outputs {[o.name for o in onx.graph.output]}, "
                               f"expected one ({SCORES})")
    task, width, classes, activation, note = _head(spec, onx, out, origin)
    append_head(onx, SCORES, task, classes or [], activation, width)
    _canonical_tables(onx)
    onx.producer_name, onx.producer_version, onx.doc_string = "mlready", "", ""
    onx.graph.name = "mlready"  # tf2onnx names it after the traced function (a per-process counter)
    for node in onx.graph.node:
        node.doc_string = ""
    try:
        onnx.checker.check_model(onx, full_check=True)
    except Exception as exc:
        raise ModelSourceError(f"{origin}: the converted ONNX graph is invalid: {str(exc).splitlines()[0]}") from None
    notes = [f"converted the {graph.title} with tf2onnx (opset {spec.model.opset}, dynamic batch; inputs "
             f"{', '.join(i.shown() for i in graph.inputs)})", note]
    predictor = TfPredictor(fn, graph.inputs, task, classes, activation, feature_names, rebuild)
    if graph.layers:  # a Keras model (a SavedModel's loaded object has no telling class name)
        predictor.keras_model = graph.trackable
    return SourceModel(
        onnx_model=onx,
        estimator=predictor,
        task=task,
        classes=classes,
        feature_names=feature_names,
        notes=notes,
        features=_rank1_feature(graph.inputs, feature_names),  # else derived from the inputs and the names
    )
