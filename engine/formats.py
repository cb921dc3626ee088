"""Model formats: the ``mlready.formats`` entry-point group.

A format is one :class:`ModelFormat` object, declared in the module that implements it and registered with
one entry-point line (``sklearn = "mlready.generators.model.sklearn:FORMAT"``). It says how ``model.format``
(or a model file's suffix) becomes an ONNX model, and what the rest of mlready needs to know about it:
``model.format`` is validated against the installed formats, the Model Registry reads model files by their
suffixes and MLflow flavors, the ``model.ingest`` cache key covers the format's tool versions, and the
readiness step asks whether the source model can be refit for cross-validation.

Loading the registry imports the format modules, so they import heavy libraries (numpy, onnx, torch, …) only
inside their functions: planning a build stays light. Hooks are named ``"module:function"`` and imported
when called.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mlready.engine.errors import MlreadyError

ENTRY_POINT_GROUP = "mlready.formats"
AUTO = "auto"  # model.format: tell the format from model.trainer or the source's suffix


class FormatPluginError(MlreadyError):
    exit_code = 1


@dataclass(frozen=True)
class ModelFormat:
    """What one model format declares. ``load`` and ``refit`` are ``"module:function"`` references."""

    name: str
    #: ``(spec, path: Path | None, sample: pandas.DataFrame | None) -> SourceModel``: load the model, convert it
    #: to ONNX (``sample``: evaluation rows, feature columns in data order with their original dtypes)
    load: str
    #: a short human name used in reports ("ONNX", "scikit-learn")
    title: str = ""
    #: model file suffixes (lowercase, with the dot), in order of preference; empty for code-built models
    suffixes: tuple[str, ...] = ()
    #: ``(flavor, MLmodel key naming the model file)`` of the MLflow flavor that stores this format, if any
    mlflow_flavor: tuple[str, str] | None = None
    #: distributions whose versions shape the converted ONNX model (part of ``model.ingest``'s cache key)
    tools: tuple[str, ...] = ()
    #: ``(spec, SourceModel) -> (fit(X, y) -> model, fit takes a DataFrame) | None``: how to refit the source
    #: model on cross-validation folds; None when the format cannot be refit
    refit: str | None = None
    #: whether the loader returns a source model to compare with its ONNX export (readiness parity)
    source_model: bool = True
    #: file names that mark a model directory of this format (a SavedModel's ``saved_model.pb``): ``auto``
    #: tells the format of a directory ``model.source`` from them, and the source may be that directory
    markers: tuple[str, ...] = ()
    #: suffixes other files share (``.json``, ``.txt``): ``auto`` tells the format from them for
    #: ``model.source``, but a downloaded model artifact is not searched for them (MLflow writes
    #: requirements.txt and example JSON beside the model)
    shared_suffixes: tuple[str, ...] = ()
    #: modules the loader imports; when one is missing, choosing the format is a spec error showing ``install``
    requires: tuple[str, ...] = ()
    #: how to install what ``requires`` names (``pip install 'mlready[xgboost]'``)
    install: str = ""

    def loader(self) -> Callable[..., Any]:
        return load_callable(self.load)

    def refitter(self) -> Callable[..., Any] | None:
        return load_callable(self.refit) if self.refit else None

    def missing(self) -> list[str]:
        """The modules of ``requires`` that are not installed (found without importing them)."""
        return [m for m in self.requires if not _importable(m)]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or sys.modules[module] is None
        return False


def load_callable(ref: str) -> Callable[..., Any]:
    module, _, func = ref.partition(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]


@cache
def formats() -> dict[str, ModelFormat]:
    """Every installed format by name, in name order. A broken or inconsistent plugin is named."""
    found: dict[str, ModelFormat] = {}
    owner: dict[str, str] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            fmt = ep.load()
        except Exception as exc:  # a broken plugin must say which one it is
            raise FormatPluginError(f"model format plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if not isinstance(fmt, ModelFormat):
            raise FormatPluginError(f"model format plugin {ep.name!r} ({ep.value}) is not a mlready ModelFormat")
        if fmt.name != ep.name or fmt.name == AUTO:
            raise FormatPluginError(f"model format plugin {ep.name!r} declares name {fmt.name!r}; they must match "
                                    f"(and '{AUTO}' is reserved)")
        for suffix in (*fmt.suffixes, *fmt.shared_suffixes):
            if suffix != suffix.lower() or not suffix.startswith("."):
                raise FormatPluginError(f"model format {fmt.name!r}: suffix {suffix!r} must be lowercase and "
                                        "start with '.'")
            if suffix in owner:
                raise FormatPluginError(f"model formats {owner[suffix]!r} and {fmt.name!r} both claim {suffix}")
            owner[suffix] = fmt.name
        found[fmt.name] = fmt
    return found


def names() -> list[str]:
    """The values ``model.format`` accepts."""
    return [AUTO, *formats()]


def get(name: str) -> ModelFormat:
    return formats()[name]


def check_name(value: str) -> str:
    """``model.format`` validation: an unknown name lists the installed ones, with a did-you-mean."""
    available = names()
    if value in available:
        return value
    hint = difflib.get_close_matches(value, available, n=1)
    did = f" (did you mean '{hint[0]}'?)" if hint else ""
    raise ValueError(f"unknown model format {value!r}{did}; available: {', '.join(available)}")


def by_suffix(suffix: str) -> ModelFormat | None:
    suffix = suffix.lower()
    return next((f for f in formats().values() if suffix in (*f.suffixes, *f.shared_suffixes)), None)


def by_directory(path: Path) -> ModelFormat | None:
    """The format whose marker file the directory holds, if any."""
    return next((f for f in formats().values() if any((path / m).is_file() for m in f.markers)), None)


def _preferred() -> list[ModelFormat]:
    """Formats in order of preference when an artifact holds several models: ONNX first (served as it is),
    then by name."""
    return sorted(formats().values(), key=lambda f: (f.name != "onnx", f.name))


def model_suffixes() -> tuple[str, ...]:
    """Every model file suffix, in order of preference."""
    return tuple(s for f in _preferred() for s in f.suffixes)


def source_suffixes() -> tuple[str, ...]:
    """Every suffix ``auto`` recognises in ``model.source``: the model suffixes and the shared ones."""
    return (*model_suffixes(), *(s for f in _preferred() for s in f.shared_suffixes))


def model_markers() -> tuple[str, ...]:
    """Every file name that marks a model directory, in order of preference."""
    return tuple(m for f in _preferred() for m in f.markers)


def mlflow_flavors() -> tuple[tuple[str, str], ...]:
    """``(flavor, MLmodel key of the model file)`` of the formats MLflow can store, in order of preference."""
    return tuple(f.mlflow_flavor for f in _preferred() if f.mlflow_flavor)
