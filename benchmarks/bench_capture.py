"""Prediction capture benchmark (issue 16): throughput with ``capture`` at sample rate 1.0 and the file sink vs
capture off, on the serving benchmark's small model, side by side in one run.

    .venv/bin/python benchmarks/bench_capture.py [--duration 4] [--rounds 8] [--connections 32]

The model is bench_serving.py's section 0 model (the quickstart's MLP, scaler + 30->64->32->2, as ONNX), given
a signature with the breast cancer feature names and class names, so a capture record names its 30 inputs and
its label and probabilities as the build's would. Three mlready servers with bench_serving.py's settings (auth
on, batching on) are measured in alternating ``wrk`` rounds with batch-1 JSON: capture off, capture on (file
sink, sample rate 1.0), and capture on at sample rate 0.1. The goal: capture on >= 90% of capture off's req/s,
judged on the median of the rounds' ratios (each round runs capture on right after capture off; the ratio of
the two medians is printed too).
After the run, the records written and dropped (``/metrics``) are printed: a throughput bought by dropping
records would show there. ``--micro`` times the two halves of capture in-process instead (no server): the
request's ``Capture.submit`` and the writer's cost per record (records built and written by the file sink, the
queued arrays freed), on fresh arrays shaped like the quickstart's requests (1 x 30 float32 in, label and
2 probabilities out).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_serving as bs  # noqa: E402  (the process, wrk and table helpers)
from bench_serving import models  # noqa: E402


def signature(onx) -> dict:
    """The build's kind of signature for the quickstart MLP: tensors from onnxruntime, feature and class names."""
    import onnxruntime as ort
    from mlready.runtime.signature import Signature
    from sklearn.datasets import load_breast_cancer

    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    sig = Signature.from_session(sess, "quickstart", 1).to_dict()
    data = load_breast_cancer()
    return {**sig, "task": "classification", "classes": [0, 1], "class_names": list(map(str, data.target_names)),
            "feature_names": list(map(str, data.feature_names))}


def micro(onx, X, n: int = 50_000) -> None:
    """In-process: µs of CPU per request for ``Capture.submit`` and for the writer thread's work."""
    import time

    import numpy as np
    from mlready.runtime.answers import answers_for
    from mlready.runtime.capture import Capture
    from mlready.runtime.config import CaptureConfig
    from mlready.runtime.metrics import create_metrics
    from mlready.runtime.signature import Signature

    sig = Signature.from_dict(signature(onx))

    class Version:  # what capture reads of a served model version
        name, version, signature, answers = "quickstart", 1, sig, answers_for(sig)

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        conf = CaptureConfig(enabled=True, sink="file", directory=d, flush_interval_s=3600, batch_size=100)
        cap = Capture(conf, create_metrics())
        cap._wake.wait = lambda timeout=None: time.sleep(3600)  # the writer thread sleeps: its work is timed here
        submit = write = 0
        for start in range(0, n, conf.batch_size):
            reqs = [(os.urandom(16).hex(), {"X": X[i % len(X)][None].astype(np.float32)}, Version.answers.apply(
                {"label": np.array([i % 2], np.int64), "probabilities": rng.random((1, 2), np.float32)}))
                    for i in range(start, start + conf.batch_size)]
            t0 = time.process_time_ns()
            for rid, arrays, result in reqs:
                cap.submit(rid, "tfserving", Version, arrays, result)
            t1 = time.process_time_ns()
            del reqs
            cap._write(cap._take(conf.batch_size))
            write += time.process_time_ns() - t1
            submit += t1 - t0
        cap.sink.close()
        size = sum(f.stat().st_size for f in Path(d).glob("capture-*.jsonl"))
    print(f"in-process, {n} one-row requests: submit {submit / n / 1e3:.2f} µs, writer "
          f"{write / n / 1e3:.2f} µs a record ({size / n:.0f} bytes a record)")


def capture_counts(s: bs.Server) -> str:
    with urllib.request.urlopen(urllib.request.Request(s.url + "/metrics", headers=bs.AUTH), timeout=10) as r:
        text = r.read().decode()
    lines = [x for x in text.splitlines() if x.startswith(("mlready_capture_records_total{",
                                                           "mlready_capture_dropped_total{"))]
    return "; ".join(lines) or "no capture metrics"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=4.0, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=8, help="alternating rounds")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--keep", action="store_true", help="keep the work dir (and the capture files)")
    ap.add_argument("--capture-dir", type=Path, default=None,
                    help="where the file sink writes (default: the work dir, on the disk of the temp dir; e.g. "
                         "/dev/shm to leave the host's disk out of the measurement)")
    ap.add_argument("--micro", action="store_true", help="time submit and the writer in-process, no server")
    args = ap.parse_args()
    if args.micro:
        micro(*models.quickstart_mlp())
        return 0
    if shutil.which("wrk") is None:
        print("wrk missing: run tools/install-system-deps.sh", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="mlready-bench-capture-"))
    cdir = Path(tempfile.mkdtemp(prefix="mlready-bench-capture-", dir=args.capture_dir)) if args.capture_dir else work
    servers: list[bs.Server] = []
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; work dir {work}")
        small, X = models.quickstart_mlp()
        repo = work / "repo"
        models.write_version(repo, "quickstart", 1, small, signature(small))
        lua = work / "post.lua"
        lua.write_text(bs.LUA)
        body = work / "body.json"
        body.write_text(json.dumps({"instances": X[:1].tolist()}))
        file_sink = {"enabled": True, "sink": "file", "sample_rate": 1.0, "directory": str(cdir / "capture")}
        captures = {"capture off": None, "capture on (file, 1.0)": file_sink,
                    "capture on (file, 0.1)": {**file_sink, "sample_rate": 0.1, "directory": str(cdir / "capture-0.1")}}
        print(f"capture files in {cdir} ({_fs_type(cdir)})")
        for name, capture in captures.items():
            servers.append(bs.mlready_server(work, name, repo, True, bs.free_port(), bs.free_port(),
                                             settings={"capture": capture} if capture else None))
        print(f"\nthe quickstart's MLP, wrk {args.connections} connections, batch-1 JSON, "
              f"{args.rounds} x {args.duration:.0f}s alternating")
        by = bs.measure(servers, body, lua, args.connections, args)
        off, on = by["capture off"]["rps"], by["capture on (file, 1.0)"]["rps"]
        paired = bs.paired(servers[0], servers[1])
        print(f"  capture on (file, 1.0) / capture off, round by round: "
              f"{', '.join(f'{r:.1%}' for r in paired)}; ratio of the medians {on / off:.1%}")
        median = statistics.median(paired)
        bs.goal("capture on (file, sample rate 1.0) >= 90% of capture off (median of the rounds' ratios)",
                median >= 0.9, f"{median:.1%} ({sum(r >= 0.9 for r in paired)} of {len(paired)} rounds at 90% or more)")
        for s in servers[1:]:
            print(f"  {s.name}: {capture_counts(s)}")
        files = sorted((cdir / "capture").glob("capture-*.jsonl"))
        size = sum(f.stat().st_size for f in files)
        print(f"  capture files (rate 1.0): {len(files)}, {size / 1e6:.1f} MB")
        return 0
    finally:
        for s in servers:
            s.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(cdir, ignore_errors=True)


def _fs_type(path: Path) -> str:
    """The file system type ``path`` is on (from /proc/mounts: the longest mount point above it)."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    real = str(path.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) > 2 and (real == parts[1] or real.startswith(parts[1].rstrip("/") + "/")) and \
                len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind


if __name__ == "__main__":
    raise SystemExit(main())
