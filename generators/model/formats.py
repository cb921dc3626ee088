"""Model formats: ``model.format`` -> loader (``module:function``), imported only when used."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

LOADERS: dict[str, str] = {
    "onnx": "mlready.generators.model.onnx_file:load",
    "sklearn": "mlready.generators.model.sklearn:load",
    "pytorch": "mlready.generators.model.pytorch:load",
    "trainer": "mlready.generators.model.trainer:load",
}

SUFFIXES: dict[str, str] = {
    ".onnx": "onnx",
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
    ".skops": "sklearn",
    ".pt": "pytorch",
    ".pth": "pytorch",
}


def detect(fmt: str, source: str, trainer: str | None) -> str | None:
    """The format to use, or None when it cannot be told from the file name."""
    if fmt != "auto":
        return fmt
    if trainer:
        return "trainer"
    return SUFFIXES.get(Path(source).suffix.lower())


def loader(fmt: str) -> Callable:
    module, _, func = LOADERS[fmt].partition(":")
    return getattr(importlib.import_module(module), func)
