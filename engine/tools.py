"""Versions of the tools that shape a step's output, for cache keys — read from package metadata, so that
planning a build never imports heavy libraries."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version


@cache
def tool_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "absent"


def versions(*dists: str) -> dict[str, str]:
    return {d: tool_version(d) for d in dists}
