"""What the gradient-boosted tree formats (xgboost.py, lightgbm.py, catboost.py) share, and the hook the
scikit-learn format calls so that a joblib file holding a booster, or a Pipeline ending in one, converts.

Light at import (the format registry loads this when planning): the libraries, onnxmltools and skl2onnx are
imported by the functions that need them; the converters themselves live in boosters_onnx.py.

- :func:`prepare` (called by sklearn.py before ``convert_sklearn``): finds the XGBoost / LightGBM / CatBoost
  estimators inside an estimator (a Pipeline's steps, a meta-estimator's members), refuses what the ONNX
  converters cannot express (categorical features, naming the feature) and registers the skl2onnx converters
  for those libraries, so skl2onnx converts the whole pipeline with the booster as one of its operators.
- :func:`load_estimator`: a model file as a scikit-learn-API estimator (joblib/pickle through the sklearn
  format's reader, or the library's native file through the format's own reader), then one conversion path.
- :func:`refit`: cross-validation refits a clone of the estimator; a native file's estimator carries the
  hyper-parameters read from the file (number of trees, learning rate, depth, …).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlready.generators.model.source import ModelSourceError, SourceModel


@dataclass(frozen=True)
class Library:
    module: str  # the import name
    title: str
    extra: str  # the mlready extra that installs it with onnxmltools

    @property
    def install(self) -> str:
        return f"pip install 'mlready[{self.extra}]'"


LIBRARIES = {
    "xgboost": Library("xgboost", "XGBoost", "xgboost"),
    "lightgbm": Library("lightgbm", "LightGBM", "lightgbm"),
    "catboost": Library("catboost", "CatBoost", "catboost"),
}

#: distributions whose versions shape a converted booster (xgboost-cpu installs the `xgboost` module); the
#: sklearn format adds them to its key too, as its pickles may hold a booster
TOOLS = ("onnxmltools", "xgboost", "xgboost-cpu", "lightgbm", "catboost")


def library_of(obj: Any) -> Library | None:
    """The booster library an object's class comes from, if any (told without importing anything)."""
    cls = type(obj)
    return LIBRARIES.get(getattr(cls, "mlready_library", None) or cls.__module__.partition(".")[0])


def install_hint(module: str | None) -> str:
    """``": pip install 'mlready[xgboost]'"`` when ``module`` (or its package) is a booster library, else ``""``."""
    lib = LIBRARIES.get((module or "").partition(".")[0])
    return f": {lib.install}" if lib else ""


def import_library(lib: Library) -> Any:
    """The library module, or a ModelSourceError naming the extra to install."""
    try:
        importlib.import_module("onnxmltools")
        return importlib.import_module(lib.module)
    except ImportError as exc:
        raise ModelSourceError(
            f"{lib.title} models need {exc.name or lib.module}, which is not installed: {lib.install}"
        ) from None


def boosters_in(est: Any) -> Iterator[Any]:
    """The booster estimators in ``est``: itself, a Pipeline's steps, a meta-estimator's fitted members."""
    if library_of(est) is not None:
        yield est
        return
    steps = getattr(est, "steps", None)  # Pipeline
    if isinstance(steps, list):
        for step in steps:
            if isinstance(step, tuple) and len(step) == 2:
                yield from boosters_in(step[1])
    for attr in ("transformer_list", "transformers_", "estimators_"):  # FeatureUnion, ColumnTransformer, ensembles
        members = getattr(est, attr, None)
        if isinstance(members, list):
            for member in members:
                inner = member[1] if isinstance(member, tuple) and len(member) >= 2 else member
                if not isinstance(inner, str):
                    yield from boosters_in(inner)


def prepare(est: Any, origin: str) -> tuple[Any, list[str]]:
    """Make skl2onnx able to convert the boosters inside ``est``: returns the estimator to convert (``est``, or
    a LightGBM model fitted on pandas category columns behind its value -> code step, booster_categories.py)
    and notes for the report (none when there is no booster). Unsupported setups raise a ModelSourceError
    naming the feature."""
    found = list(boosters_in(est))
    if not found:
        return est, []
    from mlready.generators.model import boosters_onnx

    notes = []
    lib = library_of(est)
    if lib in (LIBRARIES["lightgbm"], LIBRARIES["xgboost"]):
        from mlready.generators.model import booster_categories

        import_library(lib)
        wrapped = booster_categories.wrap(est, origin)
        if wrapped is not est:
            boosters_onnx.check_supported(est, origin, categories_mapped=True)
            booster_categories.register()
            boosters_onnx.register(lib.module)
            notes.append(f"category columns {', '.join(wrapped.categories)}: their values are mapped to "
                         f"{lib.title}'s category codes in the ONNX model (one input per column)")
            found, est = [], wrapped
    for booster in found:
        lib = library_of(booster)
        assert lib is not None
        import_library(lib)
        boosters_onnx.check_supported(booster, origin)
        boosters_onnx.complete(booster)
        boosters_onnx.register(lib.module)
        notes.append(f"{type(booster).__name__}: {boosters_onnx.converter_note(lib.module)}")
    return est, notes


def load_estimator(
    spec: Any, path: Path, sample: Any, lib: Library, read_native: Callable[[Path], Any]
) -> SourceModel:
    """Load a model file of the ``lib`` format and convert it: a joblib/pickle file through the sklearn
    format's reader (it must hold one of ``lib``'s estimators, or a Pipeline ending in one), any other file
    with ``read_native`` (-> a scikit-learn-API estimator). ``sample``: the evaluation rows (a DataFrame) or None."""
    from mlready.generators.model import sklearn

    import_library(lib)
    if path.suffix.lower() in sklearn.FORMAT.suffixes:
        est = sklearn._read(path)  # the sklearn format's reader: joblib, pickle, skops
        if not ends_in(est, lib):
            raise ModelSourceError(
                f"{path}: holds a {type(est).__name__}, not a {lib.title} estimator (or a Pipeline ending in "
                f"one); use model.format: sklearn (or auto) for other scikit-learn models"
            )
    else:
        est = read_native(path)
    return sklearn.convert(spec, est, origin=str(path), sample=sample)


def ends_in(est: Any, lib: Library) -> bool:
    """Whether ``est`` is a ``lib`` estimator or a Pipeline whose last step is one."""
    steps = getattr(est, "steps", None)
    last = steps[-1][1] if isinstance(steps, list) and steps else est
    return library_of(last) is lib


def refit(spec: Any, src: SourceModel) -> tuple[Callable[[Any, Any], Any], bool] | None:
    """Cross-validation refits a clone of the estimator (a native booster's estimator carries the
    hyper-parameters read from the file), on a DataFrame when it was fitted on named columns."""
    est = src.estimator
    if est is None or not hasattr(est, "get_params"):
        return None
    from sklearn.base import clone

    template = est.refit_template() if hasattr(est, "refit_template") else est
    fit_params = est.refit_fit_params() if hasattr(est, "refit_fit_params") else {}

    def fit(X: Any, y: Any) -> Any:
        return clone(template).fit(X, y, **fit_params)

    return fit, getattr(est, "feature_names_in_", None) is not None
