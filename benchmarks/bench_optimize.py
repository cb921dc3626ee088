"""Optimization benchmark on the MLP example (examples/mlp: 64 → 512 → 256 → 10 on digits), side by side.

    .venv/bin/python benchmarks/bench_optimize.py [--rounds 15] [--threads 1]

Prints, measured in one process with interleaved rounds (medians of per-round medians, and the median of
the paired per-round ratios, which cancels the load other tenants put on a shared machine):

1. int8 (dynamic) vs fp32 onnxruntime at batch 32 and 256 — goal ≥ 1.5× faster, ≥ 3.5× smaller,
   ≤ 0.5 point accuracy drop;
2. fp32 onnxruntime vs scikit-learn ``predict_proba`` at batch 1 — goal ≥ 5× faster;
3. structured pruning of half the hidden units (with the least-squares refit) — goal ≥ 1.6× faster within
   1 point.

Nothing here is a fixed figure: every number is measured on this run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import onnxruntime as ort
import pandas as pd
from mlready.generators.optimize.config import OptimizeSpec
from mlready.generators.optimize.passes import PassContext, run_chain
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType

HERE = Path(__file__).resolve().parents[1] / "examples" / "mlp"


def load():
    train, ev = pd.read_csv(HERE / "data/train.csv"), pd.read_csv(HERE / "data/eval.csv")
    x_tr = train.drop(columns="target").to_numpy(np.float32)
    x_ev = ev.drop(columns="target").to_numpy(np.float32)
    return joblib.load(HERE / "model.joblib"), x_tr, x_ev, ev["target"].to_numpy()


def session(model_bytes: bytes, threads: int):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def per_call_ms(fn, feeds, repeats: int) -> float:
    times = []
    for i in range(repeats):
        feed = feeds[i % len(feeds)]
        t0 = time.perf_counter_ns()
        fn(feed)
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e6


def side_by_side(runners: dict, feeds, repeats: int, rounds: int) -> dict[str, list[float]]:
    """Per-round median ms per call for each runner; the order rotates every round."""
    names = list(runners)
    for n in names:
        per_call_ms(runners[n], feeds, 5)  # warm-up
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in names[r % len(names):] + names[: r % len(names)]:
            out[n].append(per_call_ms(runners[n], feeds, repeats))
    return out


def speedup(slow: list[float], fast: list[float]) -> float:
    return statistics.median(s / f for s, f in zip(slow, fast, strict=True))


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = ap.parse_args()
    sk, x_tr, x_ev, y_ev = load()
    base = to_onnx(sk, initial_types=[("input", FloatTensorType([None, x_tr.shape[1]]))],
                   options={"zipmap": False}, target_opset=17)
    ctx = PassContext(OptimizeSpec(), base, x_tr, "classification", Path(tempfile.mkdtemp()) / "passes")
    models = {"fp32": base.SerializeToString()}
    for name in ("int8_dynamic", "structured_prune"):
        models[name] = run_chain(name, base, ctx).SerializeToString()
    sess = {n: session(b, args.threads) for n, b in models.items()}
    acc = {n: float(np.mean(s.run(None, {"input": x_ev})[0] == y_ev)) for n, s in sess.items()}
    size = {n: len(b) for n, b in models.items()}
    print(f"model: examples/mlp  eval rows {len(x_ev)}  onnxruntime {ort.__version__}  threads {args.threads}  "
          f"rounds {args.rounds}")
    print(f"{'candidate':18s} {'accuracy':>9s} {'size (bytes)':>13s}")
    for n in models:
        print(f"{n:18s} {acc[n]:9.4f} {size[n]:13,d}")

    def ort_runner(n):
        s = sess[n]
        return lambda feed: s.run(None, {"input": feed})

    results = {}
    for batch in (32, 256):
        feeds = [np.ascontiguousarray(np.resize(x_ev[i:], (batch, x_ev.shape[1]))) for i in range(0, 40, 8)]
        results[batch] = side_by_side({n: ort_runner(n) for n in models}, feeds, 30, args.rounds)
    rows1 = [x_ev[i:i + 1] for i in range(200)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b1 = side_by_side({"fp32": ort_runner("fp32"), "sklearn": sk.predict_proba}, rows1, 200, args.rounds)

    print("\n1. int8 dynamic vs fp32 onnxruntime")
    for batch, r in results.items():
        sp = speedup(r["fp32"], r["int8_dynamic"])
        print(f"   batch {batch:3d}: fp32 {statistics.median(r['fp32']):.4f} ms, int8 "
              f"{statistics.median(r['int8_dynamic']):.4f} ms per call → {sp:.2f}× faster (goal ≥ 1.5×: "
              f"{verdict(sp >= 1.5)})")
    shrink = size["fp32"] / size["int8_dynamic"]
    drop = (acc["fp32"] - acc["int8_dynamic"]) * 100
    print(f"   size: {shrink:.2f}× smaller (goal ≥ 3.5×: {verdict(shrink >= 3.5)}); accuracy drop "
          f"{drop:.2f} points (goal ≤ 0.5: {verdict(drop <= 0.5)})")

    sp1 = speedup(b1["sklearn"], b1["fp32"])
    print("\n2. fp32 onnxruntime vs scikit-learn predict_proba at batch 1")
    print(f"   onnxruntime {statistics.median(b1['fp32']) * 1000:.1f} µs, scikit-learn "
          f"{statistics.median(b1['sklearn']) * 1000:.1f} µs per call → {sp1:.1f}× faster "
          f"(goal ≥ 5×: {verdict(sp1 >= 5)})")

    print("\n3. structured pruning of half the hidden units (512→256, 256→128), next layers refit")
    drop_p = (acc["fp32"] - acc["structured_prune"]) * 100
    for batch, r in results.items():
        sp = speedup(r["fp32"], r["structured_prune"])
        print(f"   batch {batch:3d}: {sp:.2f}× faster (goal ≥ 1.6×: {verdict(sp >= 1.6)})")
    print(f"   accuracy drop {drop_p:.2f} points (goal ≤ 1: {verdict(drop_p <= 1.0)}); "
          f"{size['fp32'] / size['structured_prune']:.2f}× smaller")


if __name__ == "__main__":
    main()
