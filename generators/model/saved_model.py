"""TensorFlow SavedModel directories (``model.export("dir")`` in Keras 3, ``tf.saved_model.save``), converted to
ONNX with tf2onnx (:mod:`.tf_convert`).

``model.source`` names the directory (the one holding ``saved_model.pb``); ``model.format: tensorflow`` is told
from it by that file. The served function is the ``serving_default`` signature (or the only one): its keyword
inputs become the ONNX inputs, under the same names, and it must have one output. Loading a SavedModel runs
no Python code from it (it is a graph and variables). No refit for cross-validation: a SavedModel holds no
training loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlready.engine.formats import ModelFormat
from mlready.generators.model.source import ModelSourceError, SourceModel
from mlready.generators.model.tf_convert import INSTALL, REQUIRES, TOOLS, TfGraph, TfInput, convert, import_tf

MARKERS = ("saved_model.pb", "saved_model.pbtxt")
DEFAULT_SIGNATURE = "serving_default"

FORMAT = ModelFormat(
    name="tensorflow",
    title="TensorFlow SavedModel",
    load="mlready.generators.model.saved_model:load",
    tools=TOOLS,
    requires=REQUIRES,
    install=INSTALL,
    markers=MARKERS,
)


def is_saved_model(path: Path) -> bool:
    return path.is_dir() and any((path / m).is_file() for m in MARKERS)


def _signature(loaded: Any, origin: str) -> tuple[str, Any]:
    signatures = dict(getattr(loaded, "signatures", {}) or {})
    if DEFAULT_SIGNATURE in signatures:
        return DEFAULT_SIGNATURE, signatures[DEFAULT_SIGNATURE]
    if len(signatures) == 1:
        return next(iter(signatures.items()))
    listed = ", ".join(sorted(signatures)) or "none"
    raise ModelSourceError(f"{origin}: the SavedModel has no '{DEFAULT_SIGNATURE}' signature to serve "
                           f"(signatures: {listed}); export it with one")


def graph(loaded: Any, origin: str) -> TfGraph:
    name, fn = _signature(loaded, origin)
    args, kwargs = fn.structured_input_signature
    if args:
        raise ModelSourceError(f"{origin}: signature {name!r} takes positional inputs; a serving signature "
                               "takes named ones")
    outputs = fn.structured_outputs
    keys = sorted(outputs) if isinstance(outputs, dict) else []
    if len(keys) != 1:
        shown = ", ".join(keys) if keys else type(outputs).__name__
        raise ModelSourceError(f"{origin}: signature {name!r} has outputs {shown}; mlready serves models with one "
                               "output")
    inputs = []
    for key in sorted(kwargs):
        spec = kwargs[key]
        if spec.shape.rank is None or spec.shape.rank == 0:
            raise ModelSourceError(f"{origin}: signature {name!r} input {key!r} has no batch axis "
                                   f"(shape {spec.shape})")
        inputs.append(TfInput(key, spec.dtype.name, (None, *spec.shape.as_list()[1:])))
    names, output = [i.name for i in inputs], keys[0]

    def call(*tensors: Any) -> Any:
        _ = loaded  # the signature's variables live as long as the loaded object
        return fn(**dict(zip(names, tensors, strict=True)))[output]

    return TfGraph(inputs=inputs, call=call, title=f"SavedModel signature {name!r}", trackable=loaded)


def load(spec: Any, path: Path | None, sample: Any) -> SourceModel:
    assert path is not None
    if not path.is_dir():
        raise ModelSourceError(f"{path}: is not a directory; a TensorFlow SavedModel is a directory holding "
                               "saved_model.pb (a Keras model file ends in .keras)")
    if not is_saved_model(path):
        raise ModelSourceError(f"{path}: is not a TensorFlow SavedModel (no saved_model.pb in it)")
    tf = import_tf()
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:
        first = (str(exc).strip().split("\n") or [""])[0] or type(exc).__name__
        raise ModelSourceError(f"{path}: cannot load the SavedModel: {type(exc).__name__}: {first}") from None
    return convert(spec, graph(loaded, str(path)), sample, origin=str(path))
