"""The installed mlready version (recorded in manifests, part of every cache key)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def mlready_version() -> str:
    try:
        return version("mlready")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"
