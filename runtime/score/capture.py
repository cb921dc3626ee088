"""The prediction-capture format: one JSON object per scored row, one row per line (JSON Lines, UTF-8)::

    {"id": "<run id>-<row>", "timestamp": "2026-12-06T04:20:00.123456Z", "model": "churn-tabular",
     "version": 1, "source": "batch", "inputs": {"state": "TX", "tenure_months": 70, ...},
     "outputs": {"label": "stays", "probability_stays": 0.93, "probability_churns": 0.07}}

- ``id``: unique per row: the run's id (a random hex string, one per run) and the row's position in the run
  among the scored rows (0-based, over every file in order; skipped bad rows are not captured);
- ``timestamp``: when the row's batch was scored, UTC, ISO 8601;
- ``model``, ``version``: the signature's name and version (``version`` null when the build gave none);
- ``source``: ``batch`` for ``mlready score`` (the server's capture, when it writes one, says ``online``);
- ``inputs``: the feature values by feature name, as the model was fed them (after parsing a CSV's text;
  a missing number is null);
- ``outputs``: the prediction columns of the output file, by name.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from mlready.runtime.signature import Signature


class CaptureWriter:
    def __init__(self, path: Path, signature: Signature):
        self.path = path
        self.model = signature.name
        self.version = signature.version
        self.run = uuid.uuid4().hex[:16]
        self.row = 0
        self.file: Any = None

    def __enter__(self) -> CaptureWriter:
        self.file = open(self.path, "wb")  # noqa: SIM115 (closed in __exit__)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.file.close()

    def write(self, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        cols = {k: v.tolist() for k, v in inputs.items()}
        n = len(next(iter(cols.values()))) if cols else 0
        inputs = [{k: c[i] for k, c in cols.items()} for i in range(n)]
        outs = {k: v.tolist() for k, v in outputs.items()}
        names = list(outs)
        lines = []
        for i, row in enumerate(inputs):
            lines.append(orjson.dumps({
                "id": f"{self.run}-{self.row + i}", "timestamp": stamp, "model": self.model,
                "version": self.version, "source": "batch", "inputs": _json_safe(row),
                "outputs": {n: outs[n][i] for n in names}}))
        self.row += len(inputs)
        self.file.write(b"\n".join(lines) + b"\n")


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
