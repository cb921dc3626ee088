"""The build header of a YAML manifest, re-wrapped so yamllint's default line-length passes: the k8s bundle's
and the InferenceService's manifests carry the same header."""

from __future__ import annotations

import textwrap


def wrap_header(text: str, width: int = 80) -> str:
    """Comment lines re-wrapped to ``width`` columns (yamllint's default line-length)."""
    lines: list[str] = []
    for line in text.splitlines():
        if len(line) <= width or not line.startswith("# "):
            lines.append(line)
            continue
        lines += ["# " + part for part in textwrap.wrap(line[2:], width - 2, break_on_hyphens=False)]
    return "\n".join(lines) + "\n"
