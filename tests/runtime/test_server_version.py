"""The server's version is mlready's: from the package metadata when installed, else from the ``VERSION``
file the docker target writes beside the runtime in the image (never a number written in the code)."""

from __future__ import annotations

import importlib.util
import shutil
from importlib.metadata import PackageNotFoundError
from pathlib import Path

from mlready.engine.version import mlready_version
from mlready.runtime import service, version


def test_installed_server_reports_mlready_version():
    assert service.SERVER_VERSION == mlready_version() == version.server_version()


def _copied_module(tmp_path: Path):
    """runtime/version.py as the image has it: a copy without packaging metadata for mlready."""
    path = tmp_path / "version.py"
    shutil.copy(version.__file__, path)
    spec = importlib.util.spec_from_file_location("copied_version", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def no_metadata(name: str) -> str:
        raise PackageNotFoundError(name)

    module.version = no_metadata
    return module


def test_image_copy_reads_the_version_file_written_by_the_build(tmp_path):
    module = _copied_module(tmp_path)
    assert module.server_version() == module.UNKNOWN  # no file: says so, never a made-up number
    (tmp_path / "VERSION").write_text("9.8.7\n")
    assert module.server_version() == "9.8.7"
