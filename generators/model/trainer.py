"""Trainers: ``model.trainer: "module:function"`` returns a fitted model, which is then converted to ONNX.

The module is imported with the project directory first on ``sys.path`` (``train.py`` beside deploy.yaml is
``train:fit``). The function takes either no argument, and returns a fitted model it trained on data of its
own choosing, or two, ``(X, y)``: then mlready passes ``data.train`` (a DataFrame of the feature columns and
the target as an array) and can also call it again on each cross-validation fold. It returns a fitted
scikit-learn estimator or pipeline (converted with skl2onnx), a ``torch.nn.Module`` (exported like a
PyTorch model file) or a Keras model (converted like a ``.keras`` file; on each cross-validation fold the
retrained network is read the way the served one is). Errors inside the trainer are reported with its name,
not as a traceback.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlready.engine.formats import ModelFormat
from mlready.generators.model.source import ModelSourceError, SourceModel
from mlready.generators.model.tf_convert import TOOLS as TF_TOOLS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

FORMAT = ModelFormat(
    name="trainer",
    title="trainer",
    load="mlready.generators.model.trainer:load",
    tools=("skl2onnx", "scikit-learn", "torch", *TF_TOOLS),  # it returns an estimator, a torch module or Keras
    refit="mlready.generators.model.trainer:refit",
)


@contextmanager
def project_on_path(project_dir: Path | None) -> Iterator[None]:
    """Put the project directory first on sys.path while importing its code."""
    entry = str(Path(project_dir).resolve()) if project_dir is not None else None
    added = entry is not None and entry not in sys.path
    if added and entry is not None:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _forget_project_module(module_name: str, project_dir: Path | None) -> None:
    """Drop a cached import of a module the project itself holds, so each build imports its current code
    (and two projects with a ``train.py`` in one process do not share one)."""
    top = module_name.split(".")[0]
    if project_dir is None or not (
        (Path(project_dir) / f"{top}.py").is_file() or (Path(project_dir) / top).is_dir()
    ):
        return
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]


def resolve(spec: Any) -> Callable[..., Any]:
    ref = spec.model.trainer or ""
    module_name, _, func_name = ref.partition(":")
    if not module_name or not func_name:
        raise ModelSourceError(f"model.trainer: expected 'module:function', got {ref!r}")
    with project_on_path(spec.project_dir):
        try:
            _forget_project_module(module_name, spec.project_dir)
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ModelSourceError(
                f"model.trainer {ref!r}: cannot import module {exc.name!r} (looked in {spec.project_dir} "
                "and the installed packages)"
            ) from None
        except Exception as exc:
            raise ModelSourceError(
                f"model.trainer {ref!r}: importing {module_name} failed: {type(exc).__name__}: {exc}"
            ) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ModelSourceError(f"model.trainer {ref!r}: module {module_name} has no function {func_name!r}")
    return func


def takes_data(func: Callable[..., Any]) -> bool:
    """True for ``fit(X, y)``, False for ``fit()``; anything else is an error."""
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(params) not in (0, 2):
        raise ModelSourceError(
            f"model.trainer: {func.__name__}{inspect.signature(func)} must take no argument or (X, y)"
        )
    return len(params) == 2


def training_data(spec: Any) -> tuple[Any, np.ndarray]:
    """``data.train`` as (DataFrame of the feature columns, target array), with errors naming file/column."""
    from mlready.generators._shared.data import choose_features, read_table, target_vector

    if not spec.data.train:
        raise ModelSourceError("model.trainer takes (X, y), so the spec needs data.train (CSV or Parquet)")
    name = spec.data.train
    frame = read_table(spec.resolve(name), name)
    if spec.data.target not in frame.columns:
        raise ModelSourceError(
            f"{name}: target column {spec.data.target!r} not found (columns: {', '.join(frame.columns)})"
        )
    features = choose_features(frame, name, spec.data.target, spec.data.features, None)
    task = "regression" if spec.model.task == "regression" else "classification"
    return frame[features].reset_index(drop=True), target_vector(frame, name, spec.data.target, task)


def call(spec: Any, func: Callable[..., Any], *args: Any) -> Any:
    try:
        with project_on_path(spec.project_dir):
            return func(*args)
    except ModelSourceError:
        raise
    except Exception as exc:
        raise ModelSourceError(
            f"model.trainer {spec.model.trainer!r} raised {type(exc).__name__}: {exc}"
        ) from None


def refit_function(spec: Any) -> Callable[[Any, np.ndarray], Any] | None:
    """For cross-validation: a function (X, y) -> fitted model when the trainer takes data, else None."""
    func = resolve(spec)
    if not takes_data(func):
        return None

    def refit(X: Any, y: np.ndarray) -> Any:
        model = call(spec, func, X, y)
        if hasattr(model, "predict"):
            return model
        # a torch module: predict through the same adapter (and post-processing) as the served export
        import numpy as np
        from mlready.generators.model.pytorch import predictor

        rows = np.asarray(X, dtype=np.float32)[:8]
        return predictor(spec, model, rows, origin=f"model.trainer {spec.model.trainer!r}")

    return refit


def refit(spec: Any, src: SourceModel) -> tuple[Any, bool] | None:
    """Cross-validation calls the trainer again on each fold when it takes (X, y); else the estimator it
    returned is refit like a scikit-learn model."""
    fit = refit_function(spec)
    if fit is not None:
        like = getattr(src.estimator, "refitted", None)  # a network: each fold's model answers like the served one
        return ((lambda X, y: like(fit(X, y))) if like is not None else fit), True
    from mlready.generators.model.sklearn import refit as estimator_refit

    return estimator_refit(spec, src)


def load(spec: Any, path: Path | None, sample: pd.DataFrame | None) -> SourceModel:
    func = resolve(spec)
    model = call(spec, func, *training_data(spec)) if takes_data(func) else call(spec, func)
    origin = f"model.trainer {spec.model.trainer!r}"
    from mlready.generators.model.keras import convert_model, is_keras_model

    if is_keras_model(model):  # before estimators: a Keras model has fit and predict too
        src = convert_model(spec, model, sample, origin=origin)
    elif hasattr(model, "predict") and hasattr(model, "fit"):
        from mlready.generators.model.sklearn import convert

        src = convert(spec, model, origin=origin, sample=sample)
    elif type(model).__module__.startswith("torch") or any(
        c.__module__.startswith("torch.nn") for c in type(model).__mro__
    ):
        from mlready.generators.model.pytorch import convert_module

        src = convert_module(spec, model, sample, origin=origin)
    else:
        raise ModelSourceError(
            f"{origin} returned {type(model).__name__!r}, not a fitted estimator or torch module"
        )
    src.notes.insert(0, f"trained by {spec.model.trainer}")
    return src
