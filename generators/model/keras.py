"""Keras models saved as a ``.keras`` archive (``model.save("model.keras")``) or in the legacy HDF5 format
(``.h5``/``.hdf5``), converted to ONNX with tf2onnx (:mod:`.tf_convert`).

The model is loaded with ``keras.saving.load_model(compile=False, safe_mode=True)``: a ``Lambda`` layer's
pickled code is refused, and custom layers must be registered classes Keras can find. Its named inputs stay
the ONNX inputs (a functional model with inputs ``age`` and ``income`` is served with inputs ``age`` and
``income``); the model must have one output. No refit for cross-validation: the file holds the network and
its weights, not the training loop (epochs, callbacks, data pipeline) that made them.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from mlready.engine.formats import ModelFormat
from mlready.generators._shared.source import HDF5_MAGIC
from mlready.generators.model.source import ModelSourceError, SourceModel
from mlready.generators.model.tf_convert import INSTALL, REQUIRES, TOOLS, TfGraph, TfInput, convert, import_tf

FORMAT = ModelFormat(
    name="keras",
    title="Keras",
    load="mlready.generators.model.keras:load",
    suffixes=(".keras", ".h5", ".hdf5"),
    tools=TOOLS,
    requires=REQUIRES,
    install=INSTALL,
)


def _check_file(path: Path) -> None:
    """Refuse a file that is not a Keras model before Keras reads it (its errors there are cryptic)."""
    if path.suffix.lower() == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            names = set()
        if "config.json" not in names:
            raise ModelSourceError(f"{path}: is not a Keras model file (a .keras file is a zip archive holding "
                                   "config.json; save one with model.save('model.keras'))")
        return
    with open(path, "rb") as fh:
        magic = fh.read(len(HDF5_MAGIC))
    if magic != HDF5_MAGIC:
        raise ModelSourceError(f"{path}: is not an HDF5 file, so not a legacy Keras model")
    import h5py

    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise ModelSourceError(f"{path}: holds no Keras model (no model_config: weights only?); save the whole "
                                   "model with model.save('model.keras')")


def _read(path: Path) -> Any:
    import_tf()  # first: a missing extra is named before h5py (a TensorFlow dependency) is needed
    _check_file(path)
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        first = (str(exc).strip().split("\n") or [""])[0] or type(exc).__name__
        if "safe_mode" in first:  # Keras' own hint (pass safe_mode=False) is not ours to follow
            raise ModelSourceError(
                f"{path}: holds Python code (a Lambda layer's function), which mlready does not run when it loads "
                "a model (Keras safe mode); build that step from Keras layers"
            ) from None
        raise ModelSourceError(f"{path}: cannot load the Keras model: {type(exc).__name__}: {first}") from None


def _name(tensor: Any) -> str:
    """A Keras input's name: its InputLayer's (what the caller sees), else the tensor's."""
    history = getattr(tensor, "_keras_history", None)
    operation = getattr(history, "operation", None)
    return str(getattr(operation, "name", None) or tensor.name)


def graph(model: Any, origin: str) -> TfGraph:
    """The model's named inputs and a call with one tensor per input."""
    try:
        tensors = list(model.inputs)
        outputs = list(model.outputs)
    except (AttributeError, ValueError):
        raise ModelSourceError(f"{origin}: the Keras model has no defined inputs; build it with keras.Input(...) "
                               "before saving") from None
    if len(outputs) != 1:
        raise ModelSourceError(f"{origin}: the Keras model has {len(outputs)} outputs; mlready serves models with "
                               "one output")
    struct = getattr(model, "_inputs_struct", None)
    if isinstance(struct, dict):  # a functional model called with a dict: the keys are the input names
        keys = {id(t): k for k, t in struct.items()}
        names = [str(keys.get(id(t), _name(t))) for t in tensors]
    else:
        names = [_name(t) for t in tensors]
    if len(set(names)) != len(names):
        raise ModelSourceError(f"{origin}: the Keras model's inputs share names ({', '.join(names)})")
    inputs = [TfInput(n, str(t.dtype), (None, *t.shape[1:])) for n, t in zip(names, tensors, strict=True)]

    def call(*args: Any) -> Any:
        x = args[0] if len(args) == 1 else dict(zip(names, args, strict=True))
        out = model(x, training=False)
        if isinstance(out, dict):
            out = next(iter(out.values()))
        elif isinstance(out, list | tuple):
            out = out[0]
        return out

    layers = [layer.name for layer in getattr(model, "layers", [])]
    return TfGraph(inputs=inputs, call=call, title=f"Keras {type(model).__name__} model", layers=layers,
                   trackable=model)


def is_keras_model(obj: Any) -> bool:
    """A Keras model (what a trainer may return), told without importing Keras."""
    return any(c.__module__.startswith("keras") and c.__name__ in ("Model", "Sequential", "Functional")
               for c in type(obj).__mro__)


def convert_model(spec: Any, model: Any, sample: Any, origin: str) -> SourceModel:
    """Convert a Keras model object (shared with the trainer format, whose retrained models answer alike)."""
    return convert(spec, graph(model, origin), sample, origin=origin, rebuild=lambda m: graph(m, origin))


def load(spec: Any, path: Path | None, sample: Any) -> SourceModel:
    assert path is not None
    model = _read(path)
    return convert(spec, graph(model, str(path)), sample, origin=str(path))
