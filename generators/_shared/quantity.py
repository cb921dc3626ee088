"""Kubernetes resource quantities, parsed by the kubernetes client's own ``parse_quantity``.

``import kubernetes.utils.quantity`` first runs ``kubernetes/__init__`` (the whole client: ~0.3 s), which every
spec validation would pay. The quantity module itself depends on nothing but ``decimal``, so it is loaded from
the installed client's file on its own.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path


@cache
def _parser() -> Callable[[str], Decimal]:
    package = importlib.util.find_spec("kubernetes")
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError("the kubernetes client is not installed")
    path = Path(next(iter(package.submodule_search_locations))) / "utils" / "quantity.py"
    spec = importlib.util.spec_from_file_location("mlready_k8s_quantity", path)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parse: Callable[[str], Decimal] = module.parse_quantity
    return parse


def parse_quantity(value: str) -> Decimal:
    """'500m' -> 0.5, '1Gi' -> 1073741824; ValueError for anything Kubernetes rejects."""
    return _parser()(value)
