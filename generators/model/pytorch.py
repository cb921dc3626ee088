"""PyTorch modules, exported to ONNX with ``torch.onnx.export`` and a dynamic batch axis.

The file is a whole module saved with ``torch.save(module)`` (its class importable from the project
directory) or a TorchScript archive (``torch.jit.save``); a bare ``state_dict`` has no architecture and is
refused. The module takes one float tensor ``[batch, n_features]``; ``n_features`` comes from
``model.inputs`` when the spec gives it, else from the evaluation data, else from the first ``Linear`` layer.

- classification: the module returns scores ``[batch, n_classes]`` (logits; or probabilities when it ends in
  ``Softmax``, which is checked on sample rows) or one logit ``[batch, 1]`` for binary; the exported graph
  adds ``label`` (INT64, argmax) and ``probabilities`` (FP32, softmax/sigmoid), the same outputs as a
  converted scikit-learn classifier. Classes are ``module.classes_`` when set, else ``0..n_classes-1``.
- regression: the single output is exported as ``prediction`` ``[batch, 1]``.

``model.task: auto`` reads a one-column output as regression and a wider one as classification.

torch is an optional extra (``pip install 'mlready[torch]'``); it is imported only here, when needed. The
legacy TorchScript exporter is used (``dynamo=False``): the torch.export-based one needs onnxscript.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlready.engine.formats import ModelFormat
from mlready.generators.model.head import append_head, postprocess
from mlready.generators.model.source import ModelSourceError, SourceModel

if TYPE_CHECKING:  # numpy is imported where used: the format registry loads this module when planning
    import numpy as np
    import pandas as pd

FORMAT = ModelFormat(
    name="pytorch",
    title="PyTorch",
    load="mlready.generators.model.pytorch:load",
    suffixes=(".pt", ".pth"),
    tools=("torch",),
)

EXTRA_HINT = "PyTorch models need the optional extra: pip install 'mlready[torch]' (torch==2.13.0)"


def import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ModelSourceError(f"torch is not installed. {EXTRA_HINT}") from None
    return torch


def _read(path: Path, spec: Any) -> Any:
    torch = import_torch()
    from mlready.generators.model.trainer import project_on_path

    try:
        is_script = zipfile.is_zipfile(path) and any(
            n.split("/")[1:2] == ["code"] for n in zipfile.ZipFile(path).namelist()
        )
        with project_on_path(spec.project_dir), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = (
                torch.jit.load(str(path), map_location="cpu")
                if is_script
                else torch.load(path, map_location="cpu", weights_only=False)
            )
    except Exception as exc:
        first = str(exc).strip().split("\n")[0] or type(exc).__name__
        raise ModelSourceError(
            f"{path}: cannot load the PyTorch model: {type(exc).__name__}: {first}"
        ) from None
    if isinstance(obj, dict):
        raise ModelSourceError(
            f"{path}: holds a state_dict (weights without the architecture); save the whole module with "
            "torch.save(module) or torch.jit.save(torch.jit.script(module))"
        )
    if not isinstance(obj, torch.nn.Module):
        raise ModelSourceError(f"{path}: holds a {type(obj).__name__}, not a torch.nn.Module")
    return obj


def load(spec: Any, path: Path | None, sample: pd.DataFrame | None) -> SourceModel:
    assert path is not None
    return convert_module(spec, _read(path, spec), sample, origin=str(path))


def _matrix(sample: Any, origin: str) -> np.ndarray | None:
    """The sample rows (a DataFrame of feature columns, or an array) as the float32 matrix a module takes."""
    import numpy as np

    if sample is None:
        return None
    if hasattr(sample, "columns"):
        from mlready.generators._shared.feeds import column_values

        cols = [column_values(sample[c], "FP32", f"{origin}: sample column {c!r}", "input") for c in sample.columns]
        return np.stack(cols, axis=1) if cols else np.zeros((len(sample), 0), dtype=np.float32)
    return np.asarray(sample, dtype=np.float32)


def _n_features(spec: Any, module: Any, sample: np.ndarray | None, origin: str) -> int:
    torch = import_torch()
    if spec.model.inputs:
        shape = spec.model.inputs[0].shape
        if len(shape) != 2 or shape[1] < 1:
            raise ModelSourceError(f"{origin}: model.inputs[0].shape must be [-1, n_features], got {shape}")
        if sample is not None and sample.shape[1] != shape[1]:
            raise ModelSourceError(
                f"{origin}: model.inputs[0] declares {shape[1]} features but data.eval has "
                f"{sample.shape[1]} feature columns"
            )
        return int(shape[1])
    if sample is not None:
        return int(sample.shape[1])
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            return int(layer.in_features)
    raise ModelSourceError(
        f"{origin}: cannot tell the input width; set model.inputs: [{{name: input, datatype: FP32, shape: [-1, N]}}]"
    )


def _activation(scores_width: int, softmax: bool) -> str | None:
    """How the module's scores become probabilities (see head.py): one column is a logit, wider ones logits
    (softmax) or already probabilities."""
    return "sigmoid" if scores_width == 1 else "softmax" if softmax else None


class TorchPredictor:
    """The module with scikit-learn's predict/predict_proba, for parity checks against the ONNX model."""

    def __init__(self, module: Any, task: str, classes: list[int] | None, softmax: bool):
        import numpy as np

        self.module, self.task, self.softmax = module, task, softmax
        self.classes = classes or []
        if classes is not None:
            self.classes_ = np.asarray(classes)

    def _run(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        import numpy as np

        torch = import_torch()
        with torch.no_grad():
            scores = self.module(torch.tensor(np.asarray(X, dtype=np.float32))).numpy().astype(np.float64)
        width = 1 if scores.ndim == 1 else scores.shape[1]
        return postprocess(scores, self.task, self.classes, _activation(width, self.softmax))

    def predict(self, X: Any) -> np.ndarray:
        return self._run(X)[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.task != "classification":
            raise AttributeError("predict_proba is for classifiers")
        proba = self._run(X)[1]
        if proba is None:  # a classifier always has them (see head.postprocess)
            raise AttributeError("no class probabilities")
        return proba


@dataclass
class _Shape:
    n_features: int
    input_name: str
    width: int
    task: str
    classes: list[int] | None
    softmax: bool
    notes: list[str]


def _inspect(spec: Any, module: Any, sample: Any, origin: str) -> _Shape:
    """Input width, task, classes and whether to add a softmax, from the spec and a probe run."""
    import numpy as np

    torch = import_torch()
    module = module.eval()
    sample = _matrix(sample, origin)
    n_features = _n_features(spec, module, sample, origin)
    input_name = spec.model.inputs[0].name if spec.model.inputs else spec.model.input_name
    if spec.model.inputs and len(spec.model.inputs) != 1:
        raise ModelSourceError(
            f"{origin}: PyTorch modules take one input tensor; model.inputs lists {len(spec.model.inputs)}"
        )
    if spec.model.inputs and spec.model.inputs[0].datatype != "FP32":
        raise ModelSourceError(
            f"{origin}: PyTorch inputs are exported as FP32, model.inputs[0] says "
            f"{spec.model.inputs[0].datatype}"
        )
    probe = torch.tensor(
        np.array(sample if sample is not None else np.zeros((4, n_features)), dtype=np.float32)
    )
    try:
        with torch.no_grad():
            out = module(probe)
    except Exception as exc:
        first = str(exc).strip().split("\n")[0]
        raise ModelSourceError(
            f"{origin}: the module fails on a [{len(probe)}, {n_features}] float input: {first}"
        ) from None
    if not isinstance(out, torch.Tensor) or out.ndim not in (1, 2):
        raise ModelSourceError(
            f"{origin}: the module must return one [batch, k] tensor, got {type(out).__name__}"
        )
    width = 1 if out.ndim == 1 else int(out.shape[1])
    task = (
        spec.model.task if spec.model.task != "auto" else ("regression" if width == 1 else "classification")
    )
    notes = [
        f"exported {type(module).__name__} with torch.onnx.export (opset {spec.model.opset}, dynamic batch)"
    ]
    classes = None
    softmax = True
    if task == "classification":
        k = 2 if width == 1 else width
        classes = [int(c) for c in getattr(module, "classes_", range(k))]
        if len(classes) != k:
            raise ModelSourceError(f"{origin}: module.classes_ has {len(classes)} classes for {k} outputs")
        o = out.numpy() if out.ndim == 2 else None
        if width > 1 and o is not None and o.min() >= 0 and np.allclose(o.sum(axis=1), 1, atol=1e-4):
            softmax = False
            notes.append("the module's outputs sum to 1: read as probabilities (no softmax added)")
        elif width > 1:
            notes.append("the module's outputs read as logits: softmax added for probabilities")
    return _Shape(n_features, input_name, width, task, classes, softmax, notes)


def predictor(spec: Any, module: Any, sample: Any, origin: str) -> TorchPredictor:
    """The module as a scikit-learn-like predictor, without exporting it (cross-validation folds)."""
    shape = _inspect(spec, module, sample, origin)
    return TorchPredictor(module, shape.task, shape.classes, shape.softmax)


def convert_module(spec: Any, module: Any, sample: Any, origin: str) -> SourceModel:
    """Export a torch module (shared with the trainer loader)."""
    torch = import_torch()
    shape = _inspect(spec, module, sample, origin)  # puts the module in eval mode
    n_features, input_name, width, task = shape.n_features, shape.input_name, shape.width, shape.task
    classes, softmax, notes = shape.classes, shape.softmax, shape.notes
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)  # the legacy exporter's notice
            warnings.filterwarnings(
                "ignore", message="no signature found", category=UserWarning
            )  # TorchScript
            torch.onnx.export(
                module,
                (torch.zeros(1, n_features),),
                buf,
                input_names=[input_name],
                output_names=["mlready_scores"],
                dynamic_axes={input_name: {0: "batch"}, "mlready_scores": {0: "batch"}},
                opset_version=spec.model.opset,
                dynamo=False,
            )
    except Exception as exc:
        first = str(exc).strip().split("\n")[0]
        raise ModelSourceError(f"{origin}: torch.onnx.export failed: {type(exc).__name__}: {first}") from None
    import onnx

    onx = onnx.load_model_from_string(buf.getvalue())
    append_head(onx, "mlready_scores", task, classes or [], _activation(width, softmax), width)
    onx.producer_name, onx.producer_version, onx.doc_string = "mlready", "", ""
    try:
        onnx.checker.check_model(onx, full_check=True)
    except Exception as exc:
        raise ModelSourceError(
            f"{origin}: the exported ONNX graph is invalid: {str(exc).splitlines()[0]}"
        ) from None
    return SourceModel(
        onnx_model=onx,
        estimator=TorchPredictor(module, task, classes, softmax),
        task=task,
        classes=classes,
        feature_names=None,
        notes=notes,
    )
