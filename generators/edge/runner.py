"""Run the edge model on CSV rows; print its outputs as JSON. No web server, two dependencies (requirements.txt).

    python runner.py data.csv                  # {"outputs": {"label": [...], "probabilities": [[...], ...]}}
    python runner.py data.csv --benchmark 500  # load time, batch-1 latency (p50/p99), peak memory on this device
"""
import argparse
import csv
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent


def load(meta):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # optimized when converted
    return ort.InferenceSession(str(HERE / meta["model"]), opts, providers=["CPUExecutionProvider"])


def peak_rss_mb():
    try:  # this process' high-water mark (ru_maxrss would include a forking parent's)
        with open("/proc/self/status") as fh:
            return next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_rows(path, features):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([[float(r[f]) for f in features] for r in rows], dtype=np.float32).reshape(-1, len(features))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", help="rows with a header naming the model's feature columns")
    parser.add_argument("--benchmark", type=int, metavar="N", help="time N single-row calls instead")
    args = parser.parse_args(argv)
    meta = json.loads((HERE / "model.json").read_text())
    t0 = time.perf_counter()
    session = load(meta)
    load_ms = (time.perf_counter() - t0) * 1000
    x = read_rows(args.csv, meta["features"])
    if args.benchmark:
        times = []
        for i in range(args.benchmark):
            row = x[i % len(x)][None, :]
            t = time.perf_counter()
            session.run(None, {meta["input"]: row})
            times.append((time.perf_counter() - t) * 1000)
        p50, p99 = np.percentile(times, [50, 99])
        peak = peak_rss_mb()
        print(json.dumps({"load_ms": round(load_ms, 3), "p50_ms": round(float(p50), 4),
                          "p99_ms": round(float(p99), 4), "calls": args.benchmark, "peak_rss_mb": round(peak, 1)}))
        return 0
    names = [o.name for o in session.get_outputs()]
    results = session.run(names, {meta["input"]: x})
    json.dump({"outputs": {n: r.tolist() for n, r in zip(names, results, strict=True)}}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
