"""Measure candidates side by side in one process: accuracy, batch-1 latency, batched throughput, size, memory.

Timings on a shared machine are noisy, so every candidate is timed in each of ``rounds`` rounds, and within a
round the candidates take turns in blocks of a few calls (the order rotates every round, so drift hits all
alike); the figures are medians over rounds, and the
per-round figures are kept so selection can compare two candidates round by round (paired), which cancels
the load the other tenants put on the machine during that round.
Sessions use one intra-op thread: the comparison is between models, not between thread schedules.
Peak memory is the peak RSS (VmHWM) of a child process that loads the model and runs one batch (its import-only
RSS is measured the same way and reported alongside).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mlready.generators.optimize.config import MeasureSpec


@dataclass
class Quality:
    metric: str  # "accuracy" | "r2"
    value: float | None
    agreement: float | None  # classification: share of labels equal to the baseline's
    max_abs_diff: float | None  # largest difference of the float output against the baseline


@dataclass
class Timing:
    p50_ms: float
    p99_ms: float
    throughput_rps: float
    spread: float  # relative IQR of the per-round batch-1 medians
    rounds_p50_ms: list[float] = field(default_factory=list)
    rounds_rps: list[float] = field(default_factory=list)


def session(model_bytes: bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def _float_output(outs: list[np.ndarray], task: str) -> np.ndarray:
    if task == "regression":
        return np.asarray(outs[0], dtype=np.float64).reshape(len(outs[0]), -1)
    floats = [o for o in outs if np.asarray(o).dtype.kind == "f" and np.ndim(o) == 2]
    return np.asarray(floats[0], dtype=np.float64) if floats else np.zeros((len(outs[0]), 0))


def quality(sess, d: Any, task: str, reference: list[np.ndarray] | None) -> tuple[Quality, list]:
    """Primary metric through the readiness evaluation (the same numbers the readiness report shows), on the
    evaluation rows of ``d`` (an ``OptimizeData``: a float matrix, or a table fed through its binding)."""
    from mlready.generators._shared.scoring import evaluate_onnx

    metrics = evaluate_onnx(sess, d.x_eval, d.y_eval, task, features=d.binding)
    name = "accuracy" if task == "classification" else "r2"
    outs = sess.run(None, d.eval_feeds)
    agreement = diff = None
    if reference is not None:
        if task == "classification":
            agreement = float(np.mean(np.asarray(outs[0]).ravel() == np.asarray(reference[0]).ravel()))
        a, b = _float_output(outs, task), _float_output(reference, task)
        diff = float(np.max(np.abs(a - b))) if a.size and a.shape == b.shape else None
    return Quality(name, metrics.get(name), agreement, diff), outs


def _time_calls(sess, feeds: list[dict[str, np.ndarray]]) -> np.ndarray:
    out = np.empty(len(feeds))
    run = sess.run
    for i, feed in enumerate(feeds):
        t0 = time.perf_counter_ns()
        run(None, feed)
        out[i] = time.perf_counter_ns() - t0
    return out / 1e6  # ms


BLOCK = 10  # batch-1 calls per candidate before the next candidate's turn


def timings(sessions: dict[str, Any], feeds: dict[str, np.ndarray], cfg: MeasureSpec, progress=None) -> dict[str, Timing]:
    """Batch-1 latency and batched throughput; ``feeds`` are the evaluation rows by input name."""
    names = list(sessions)
    count = len(next(iter(feeds.values())))
    rows = [{k: v[i % count : i % count + 1] for k, v in feeds.items()} for i in range(cfg.latency_runs)]
    big = {k: np.resize(v, (cfg.throughput_batch, *v.shape[1:])) for k, v in feeds.items()}
    lat: dict[str, list[np.ndarray]] = {n: [] for n in names}
    thr: dict[str, list[float]] = {n: [] for n in names}
    for name in names:  # warm-up
        _time_calls(sessions[name], rows[:10] + [big] * 2)
    for r in range(cfg.rounds):
        if progress:
            progress(f"timing round {r + 1}/{cfg.rounds}", r / cfg.rounds)
        order = names[r % len(names):] + names[: r % len(names)]
        # within a round the candidates alternate in small blocks, so each sees the same mix of quiet and
        # busy moments of the shared machine (whole-round turns made the pairing flip with the load)
        calls: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for b in range(0, len(rows), BLOCK):
            for n in order:
                calls[n].append(_time_calls(sessions[n], rows[b:b + BLOCK]))
        batched: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for _ in range(cfg.throughput_runs):
            for n in order:
                batched[n].append(_time_calls(sessions[n], [big]))
        for n in names:
            lat[n].append(np.concatenate(calls[n]))
            thr[n].append(cfg.throughput_batch / (float(np.median(np.concatenate(batched[n]))) / 1e3))
    result = {}
    for n in names:
        p50s = np.array([np.median(a) for a in lat[n]])
        q1, q3 = np.percentile(p50s, [25, 75])
        result[n] = Timing(
            p50_ms=float(np.median(p50s)),
            p99_ms=float(np.median([np.percentile(a, 99) for a in lat[n]])),
            throughput_rps=float(np.median(thr[n])),
            spread=float((q3 - q1) / np.median(p50s)) if np.median(p50s) > 0 else 0.0,
            rounds_p50_ms=[round(float(v), 5) for v in p50s],
            rounds_rps=[round(float(v), 1) for v in thr[n]],
        )
    return result


_CHILD = """
import sys, numpy as np
path, batch = sys.argv[1], int(sys.argv[2])
import onnxruntime as ort
if path != "-":
    so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.log_severity_level = 3
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = {}
    for i in s.get_inputs():  # one batch of ones (empty strings for string inputs), every input fed
        shape = [batch] + [d if isinstance(d, int) and d > 0 else 1 for d in i.shape[1:]]
        feeds[i.name] = (np.full(shape, "", dtype=object) if i.type == "tensor(string)"
                         else np.ones(shape, dtype=bool if i.type == "tensor(bool)" else
                                      np.int64 if i.type == "tensor(int64)" else np.float32))
    s.run(None, feeds)
# VmHWM is this process's own peak (ru_maxrss can carry the parent's peak across fork+exec)
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def peak_rss_mb(path: Path | None, batch: int) -> float:
    """Peak RSS (MB) of a fresh process that loads ``path`` and runs one batch; ``None`` path = imports only."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path) if path else "-", str(batch)],
                         capture_output=True, text=True, check=True, timeout=300)
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0


def as_dict(obj: Any) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(obj)))
