"""What a finished build decided, in a few lines for the terminal: the readiness gates passed (n/m), the
optimization candidate served and why, and where the reports are.

Read from the build's own reports (the artifacts of kind ``readiness-report`` / ``optimization-report`` listed
in its manifest), so the summary says exactly what was written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlready.engine.manifest import Manifest

READINESS, OPTIMIZATION, CI = "readiness-report", "optimization-report", "ci-decisions"


def _json_report(out_dir: Path, manifest: Manifest, kind: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the JSON report of ``kind``, the path of its HTML page or JSON file) — (None, None) when absent."""
    paths = manifest.paths(kind)
    data = None
    for rel in paths:
        if rel.endswith(".json"):
            try:
                loaded = json.loads((out_dir / rel).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            data = loaded if isinstance(loaded, dict) else None
    page = next((p for p in paths if p.endswith(".html")), paths[0] if paths else None)
    return data, page


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is below it (what a user can paste), else absolute."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


def verdict_lines(out_dir: Path, manifest: Manifest) -> list[str]:
    lines: list[str] = []
    readiness, page = _json_report(out_dir, manifest, READINESS)
    if readiness is not None and page:
        summary = readiness.get("summary") or {}
        gates, passed = summary.get("gates"), summary.get("passed")
        verdict = f"{passed}/{gates} gates passed" if gates else "no gates set (readiness.gates)"
        lines.append(f"  readiness: {verdict} -> {_shown(out_dir / page)}")
    optimization, page = _json_report(out_dir, manifest, OPTIMIZATION)
    if optimization is not None and page:
        chosen, reason = optimization.get("chosen"), optimization.get("reason")
        lines.append(f"  optimization: serving {chosen}" + (f" — {reason}" if reason else "")
                     + f" -> {_shown(out_dir / page)}")
    return lines + ci_lines(out_dir, manifest)


def ci_lines(out_dir: Path, manifest: Manifest) -> list[str]:
    """What the CI generators detected in the project and decided (install, tests, train job), once for all
    the systems that share it (``ci.gitlab.tests`` and ``ci.github.tests`` are one ``ci.<system>.tests``)."""
    files, notes = [], []
    for rel in manifest.paths(CI):
        try:
            report = json.loads((out_dir / rel).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        system = str(report.get("system", ""))
        files.append(_shown(out_dir / str(report.get("file", ""))))
        for note in report.get("notes", []):
            note = str(note).replace(f"ci.{system}.", "ci.<system>.")
            if note not in notes:
                notes.append(note)
    return [f"  ci: {', '.join(files)}", *(f"    {n}" for n in notes)] if files else []
