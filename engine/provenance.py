"""Git provenance of a project: the commit and whether the work tree has uncommitted changes."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_info(project_dir: Path) -> dict[str, object]:
    """``{"commit": sha or None, "dirty": bool}``; ``commit`` is None outside a git work tree."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=project_dir, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {"commit": None, "dirty": False}
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".")
    return {"commit": commit, "dirty": bool(status)}
