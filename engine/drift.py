"""``mlready check``: regenerate in memory, compare with the build dir, show each drifted file as a unified
diff and say why it drifted — a file edited by hand, a changed spec, a changed model or data file (the
manifest records the digest of every input file a build read), or changed mlready code.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlready.engine.manifest import Manifest
from mlready.engine.plugin import Artifact, file_digest

MAX_DIFF_LINES = 200  # per file; the rest is counted
MAX_DIFF_BYTES = 1 << 20  # larger files are compared by size only (difflib is quadratic at worst)
EDITED, STALE, MISSING, EXTRA = ("edited by hand", "differs from what the spec generates now", "missing",
                                 "unexpected file")


@dataclass
class Drift:
    path: str
    problem: str  # EDITED, STALE, MISSING or EXTRA
    diff: str = ""  # unified diff, build dir -> what a build writes now ("" for binary or absent files)
    cause: str = ""  # why a STALE file differs: the spec, an input file, mlready's code


def _text(data: bytes) -> list[str] | None:
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _too_large(on_disk: int, now: int) -> str:
    return f"too large to diff: {on_disk} bytes in the build dir, {now} bytes generated now\n"


def unified(path: str, on_disk: bytes, now: bytes) -> str:
    if max(len(on_disk), len(now)) > MAX_DIFF_BYTES:
        return _too_large(len(on_disk), len(now))
    old, new = _text(on_disk), _text(now)
    if old is None or new is None:
        return f"binary file: {len(on_disk)} bytes in the build dir, {len(now)} bytes generated now\n"
    lines = list(difflib.unified_diff(old, new, f"build/{path} (in the build dir)",
                                      f"build/{path} (what `mlready build` writes now)"))
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more diff lines\n"]
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def causes(spec: Any, recorded: Manifest, digest_now: str, inputs_now: dict[str, str]) -> list[str]:
    """Why generated files differ now from the recorded build, most specific first."""
    from mlready.engine.version import mlready_version

    found = []
    model = spec.model.source
    for path, digest in (recorded.inputs or {}).items():
        if inputs_now.get(path, digest) != digest:
            what = "the model file" if path == model else "the input file"
            found.append(f"{what} {path} changed since the build")
    if recorded.spec.digest != digest_now:
        found.append("the spec changed since the build (deploy.yaml, a conf/ group file or an override)")
    elif found:
        found.append("the spec did not change")
    if recorded.mlready_version != mlready_version():
        found.append(f"mlready changed since the build ({recorded.mlready_version} -> {mlready_version()})")
    if not found:
        found.append("neither the spec, the input files nor the mlready version changed: a generator's code did"
                     + ("" if recorded.inputs is not None else " (or the build predates input recording)"))
    return found


def compare(out_dir: Path, recorded: Manifest, artifacts: list[Artifact], why: list[str]) -> list[Drift]:
    from mlready.engine.manifest import FILENAME

    expected = {a.path: a for a in artifacts}
    recorded_sha = recorded.digests()
    drift: list[Drift] = []
    for path, art in sorted(expected.items()):
        f = out_dir / path
        if not f.is_file():
            drift.append(Drift(path, MISSING))
            continue
        actual = file_digest(f)
        if actual == art.sha256():
            continue
        now = art.data if art.data is not None else Path(art.source).read_bytes()  # type: ignore[arg-type]
        size = f.stat().st_size  # a huge file dropped in place of an artifact is not read
        diff = unified(path, f.read_bytes(), now) if size <= MAX_DIFF_BYTES else _too_large(size, len(now))
        if recorded_sha.get(path) and recorded_sha[path] != actual:
            drift.append(Drift(path, EDITED, diff))
        else:
            drift.append(Drift(path, STALE, diff, "; ".join(why)))
    on_disk = {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()}
    drift.extend(Drift(path, EXTRA) for path in sorted(on_disk - set(expected) - {FILENAME}))
    return drift
