"""The ``optimization-report`` document (JSON): the setting, every candidate with its figures and verdict."""

from __future__ import annotations

import hashlib
from typing import Any

from mlready.generators._shared.onnx_model import ModelFacts
from mlready.generators.optimize.config import OptimizeSpec
from mlready.generators.optimize.data import OptimizeData
from mlready.generators.optimize.measure import as_dict
from mlready.generators.optimize.select import Candidate


def _r(v: float | None, digits: int = 6) -> float | None:
    return None if v is None else round(float(v), digits)


def candidate_dict(c: Candidate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": c.name,
        "passes": [] if c.name == "baseline" else c.name.split("+"),
        "status": c.status,
        "verdict": c.verdict,
        "why": c.why,
        "detail": c.reason,
        "complexity": c.complexity,
    }
    if c.model is not None:
        out["size_bytes"] = c.size_bytes
        out["sha256"] = hashlib.sha256(c.model).hexdigest()
    if c.quality is not None:
        q = as_dict(c.quality)
        out["quality"] = {k: (_r(v) if isinstance(v, float) else v) for k, v in q.items()}
    if c.timing is not None:
        t = as_dict(c.timing)
        out["timing"] = {k: (_r(v) if isinstance(v, float) else v) for k, v in t.items()}
    if c.peak_rss_mb is not None:
        out["peak_rss_mb"] = _r(c.peak_rss_mb, 1)
    return out


def report_dict(cfg: OptimizeSpec, cands: list[Candidate], winner: Candidate, headline: str, facts: ModelFacts,
                data: OptimizeData, memory_ref: float | None, runtime: dict[str, Any]) -> dict[str, Any]:
    m = cfg.measure
    return {
        "chosen": winner.name,
        "reason": headline,
        "fallback_to_baseline": winner.name == "baseline",
        "objective": cfg.objective,
        "budget": cfg.budget.model_dump(mode="json"),
        "model": {"family": facts.family, "dense_layers": facts.dense_layers, "operators": facts.op_counts},
        "data": {"evaluation_rows": int(data.rows), "calibration": data.calib_source,
                 "calibration_rows": int(data.calib_rows),
                 "note": "calibrated on the evaluation rows: the budget check is optimistic"
                 if data.calib_source == "data.eval" else ""},
        "measurement": {
            "rounds": m.rounds, "latency_runs_per_round": m.latency_runs, "throughput_batch": m.throughput_batch,
            "throughput_runs_per_round": m.throughput_runs, "noise_margin": m.noise_margin,
            "intra_op_threads": 1, "provider": "CPUExecutionProvider",
            "memory_reference_mb": _r(memory_ref, 1),
            "note": "figures vary between runs on a shared machine; the choice uses medians and noise margins",
        },
        "candidates": [candidate_dict(c) for c in cands],
        "runtime_config": runtime,
    }
