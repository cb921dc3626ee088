"""Writing a build: everything goes into a temporary sibling directory, then replaces the old build dir in
one swap, so an interrupted or failed build never leaves a half-written output."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mlready.engine.errors import UsageError
from mlready.engine.manifest import FILENAME as MANIFEST
from mlready.engine.manifest import Manifest
from mlready.engine.plugin import Artifact

__all__ = ["MANIFEST", "atomic_write_text", "check_out_dir", "update_manifest", "write_tree"]


def check_out_dir(out_dir: Path, project_dir: Path) -> None:
    """Refuse to replace anything that is not an mlready build dir (or a new one)."""
    out_dir = out_dir.resolve()
    if out_dir == project_dir or out_dir in project_dir.parents:
        raise UsageError(f"--out {out_dir} would replace the project itself; choose a sub-directory")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UsageError(f"--out {out_dir} exists and is not a directory")
        if any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
            raise UsageError(
                f"refusing to replace {out_dir}: it is not empty and holds no {MANIFEST} (not an mlready build dir)"
            )


def _write_file(root: Path, art: Artifact) -> None:
    target = root / art.path
    target.parent.mkdir(parents=True, exist_ok=True)
    if art.data is not None:
        target.write_bytes(art.data)
    else:
        shutil.copyfile(art.source, target)  # type: ignore[arg-type]
    os.chmod(target, art.mode)


def write_tree(out_dir: Path, artifacts: list[Artifact], manifest: Manifest) -> None:
    """Atomically replace ``out_dir`` with exactly ``artifacts`` plus ``manifest.json``."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.new-"))
    old: Path | None = None
    try:
        for art in artifacts:
            _write_file(tmp, art)
        (tmp / MANIFEST).write_text(manifest.dump(), encoding="utf-8")
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
            os.rmdir(old)
            os.rename(out_dir, old)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not out_dir.exists():
            os.rename(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write one file through a temporary sibling and a rename: readers see the old or the new content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def update_manifest(out_dir: Path, update: dict[str, Any]) -> None:
    """Set top-level fields of an existing manifest, validated, atomically (``mlready image`` records the
    image it built)."""
    from mlready.engine.manifest import Manifest

    path = out_dir / MANIFEST
    current = Manifest.load(path)
    current.updated(update).write(path)
