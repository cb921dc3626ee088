"""Prediction capture for batch scoring: the server's record format (:mod:`mlready.runtime.capture`), one
record per scored chunk, in a JSON Lines file, so what reads the server's capture reads batch traffic too::

    {"id": "3f9c0e1a2b4d5e6f-0", "time": "2026-12-06T04:20:00.123456Z", "model": "churn-tabular",
     "version": "1", "protocol": "batch", "rows": 65536, "sample_rate": 1.0,
     "inputs": {"state": ["TX", "CA", ...], "tenure_months": [70.0, 25.0, ...], ...},
     "outputs": {"label": ["stays", "churns", ...],
                 "probabilities": {"stays": [0.88, 0.36, ...], "churns": [0.12, 0.64, ...]}}}

- ``id``: the run's id (random, one per ``mlready score`` run) and the chunk's number in the run (from 0);
- ``time``: when the chunk was scored (UTC); ``model``, ``version``: the signature's name and version;
- ``protocol``: ``batch`` (the server writes ``v2``, ``tfserving``, ...); ``rows``: rows in the record;
  ``sample_rate``: 1.0 (every scored row is captured; skipped bad rows are not);
- ``inputs``: one column per feature, by feature name, as the model was fed (after parsing a CSV's text; a
  missing number is NaN, written as null);
- ``outputs``: each model output as the server answers it: the label as class names, probabilities as one
  column per class name, a regression output one number per row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from mlready.runtime.capture import named_outputs

_DUMP = orjson.OPT_SERIALIZE_NUMPY  # NaN (a missing number) is written as null


class CaptureWriter:
    def __init__(self, path: Path, scorer: Any):
        self.path = path
        self.signature = scorer.signature
        self.answers = scorer.answers
        self.run = uuid.uuid4().hex[:16]
        self.chunk = 0
        self.file: Any = None

    def __enter__(self) -> CaptureWriter:
        self.file = open(self.path, "wb")  # noqa: SIM115 (closed in __exit__)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.file.close()

    def write(self, scored: Any, rows: int) -> None:
        sig = self.signature
        record = {"id": f"{self.run}-{self.chunk}",
                  "time": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
                  "model": sig.name, "version": None if sig.version is None else str(sig.version),
                  "protocol": "batch", "rows": rows, "sample_rate": 1.0,
                  "inputs": {k: _column(v) for k, v in scored.inputs.items()},
                  "outputs": named_outputs(self.answers, scored.result)}
        self.chunk += 1
        self.file.write(orjson.dumps(record, option=_DUMP) + b"\n")


def _column(values: np.ndarray) -> Any:
    return values.tolist() if values.dtype.kind == "O" else np.ascontiguousarray(values)
