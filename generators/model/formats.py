"""Which registered model format (``mlready.engine.formats``) a spec's model is in, and its loader.

Each format is one module declaring a ``FORMAT`` (see onnx_file.py, sklearn.py, pytorch.py, trainer.py) and
one line in the ``mlready.formats`` entry-point group; nothing here names a format but ``trainer``, which
``model.trainer`` chooses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlready.engine import formats
from mlready.generators._shared.source import TRAINER, detect

__all__ = ["TRAINER", "detect", "ingest_tools", "known_suffixes"]  # detect lives in the shared layer


def known_suffixes() -> str:
    return ", ".join(sorted(formats.source_suffixes()))


def ingest_tools(model: Any, where: Path | None = None) -> dict[str, str]:
    """Versions of the tools that shape ``model.ingest``'s ONNX model: onnx, onnxruntime and the format's own
    (every format's when the format is only known after a registry download). A format from another package
    adds the digest of its code: the model generator's own code digest cannot see it (it is found through an
    entry point, not imported)."""
    from mlready.engine.codehash import code_digest
    from mlready.engine.tools import versions

    fmt = detect(model.format, model.source, model.trainer, where)
    chosen = [formats.get(fmt)] if fmt in formats.formats() else list(formats.formats().values())
    tools = versions("onnx", "onnxruntime", *sorted({t for f in chosen for t in f.tools}))
    for f in chosen:
        modules = [ref.partition(":")[0] for ref in (f.load, f.refit) if ref]
        if not all(m.startswith("mlready.") for m in modules):
            tools[f"format:{f.name}"] = code_digest(modules)
    return tools
