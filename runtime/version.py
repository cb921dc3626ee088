"""The server's version: mlready's own, never written by hand here.

Installed (``pip install mlready``, ``mlready serve``), it is the distribution's version. Inside an image the
runtime is copied without packaging metadata, so the docker target writes the building mlready's version into
``VERSION`` beside this file.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

VERSION_FILE = Path(__file__).with_name("VERSION")
UNKNOWN = "0+unknown"


def server_version() -> str:
    try:
        return version("mlready")
    except PackageNotFoundError:
        pass
    try:
        return VERSION_FILE.read_text(encoding="utf-8").strip() or UNKNOWN
    except OSError:
        return UNKNOWN
