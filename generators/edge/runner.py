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


def _float(v):
    return float(v) if v.strip() != "" else float("nan")  # an empty cell is missing: NaN for the imputers


CONVERT = {  # a CSV cell -> the value of the datatype its input takes
    "FP32": (_float, np.float32), "FP64": (_float, np.float64), "INT64": (int, np.int64), "INT32": (int, np.int32),
    "BOOL": (lambda v: v.strip().lower() in ("true", "1"), np.bool_), "BYTES": (str, object),
}


def read_rows(path, meta):
    """The CSV rows as feeds, one array per model input, through model.json's feature binding."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    feeds = {}
    for inp in meta["inputs"]:
        bound = [b for b in meta["binding"] if b["input"] == inp["name"]]
        conv, dtype = CONVERT[inp["datatype"]]
        if len(bound) == 1 and bound[0]["index"] is None:
            col = np.array([conv(r[bound[0]["name"]]) for r in rows], dtype=dtype)
            feeds[inp["name"]] = col.reshape(-1, 1) if len(inp["shape"]) == 2 else col
            continue
        arr = np.empty((len(rows), max(b["index"] for b in bound) + 1), dtype=dtype)
        for b in bound:
            arr[:, b["index"]] = [conv(r[b["name"]]) for r in rows]
        feeds[inp["name"]] = arr
    return feeds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", help="rows with a header naming the model's feature columns")
    parser.add_argument("--benchmark", type=int, metavar="N", help="time N single-row calls instead")
    args = parser.parse_args(argv)
    meta = json.loads((HERE / "model.json").read_text())
    t0 = time.perf_counter()
    session = load(meta)
    load_ms = (time.perf_counter() - t0) * 1000
    feeds = read_rows(args.csv, meta)
    n = len(next(iter(feeds.values())))
    if args.benchmark:
        times = []
        for i in range(args.benchmark):
            row = {k: v[i % n : i % n + 1] for k, v in feeds.items()}
            t = time.perf_counter()
            session.run(None, row)
            times.append((time.perf_counter() - t) * 1000)
        p50, p99 = np.percentile(times, [50, 99])
        peak = peak_rss_mb()
        print(json.dumps({"load_ms": round(load_ms, 3), "p50_ms": round(float(p50), 4),
                          "p99_ms": round(float(p99), 4), "calls": args.benchmark, "peak_rss_mb": round(peak, 1)}))
        return 0
    names = [o.name for o in session.get_outputs()]
    results = session.run(names, feeds)
    json.dump({"outputs": {n: r.tolist() for n, r in zip(names, results, strict=True)}}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
