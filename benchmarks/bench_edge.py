"""Edge bundle sizes and the runner's latency on this host, for the quickstart and the wider MLP example.

    .venv/bin/python benchmarks/bench_edge.py [--calls 2000] [--project examples/mlp ...]

Builds each project with ``+target=edge`` (in a temp copy), prints the size report (goal: model + runner
<= 30% of the fp32 ONNX size) and runs each bundle's own runner (``runner.py --benchmark N``, batch-1 calls
on the evaluation rows) next to onnxruntime on the fp32 ONNX model with the same loop. The build host is
not an edge device: the latency figures are for comparing the variants, not a device measurement.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FP32_LOOP = """
import json, sys, time
import csv as csvmod
import numpy as np, onnxruntime as ort
model, csv, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter(); s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
load = (time.perf_counter() - t0) * 1000
rows = list(csvmod.DictReader(open(csv)))  # as the runner reads it: no pandas in either process
x = np.array([[float(v) for k, v in r.items() if k != "target"] for r in rows], np.float32)
name = s.get_inputs()[0].name
times = []
for i in range(n):
    t = time.perf_counter(); s.run(None, {name: x[i % len(x)][None, :]}); times.append((time.perf_counter() - t) * 1000)
p50, p99 = np.percentile(times, [50, 99])
print(json.dumps({"load_ms": round(load, 3), "p50_ms": round(float(p50), 4), "p99_ms": round(float(p99), 4),
                  "peak_rss_mb": round(next(int(l.split()[1]) for l in open("/proc/self/status")
                                          if l.startswith("VmHWM:")) / 1024, 1)}))
"""


def run_json(cmd: list[str]) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench(project: Path, calls: int) -> None:
    from mlready.engine import api

    with tempfile.TemporaryDirectory(prefix="mlready-bench-edge-") as tmp:
        copy = Path(tmp) / project.name
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("build", ".mlready", "mlruns"))
        out = Path(tmp) / "out"
        api.build(copy, ["tracking.enabled=false", "readiness.enabled=false", "+target=edge"], out=out,
                  run_hooks=False)
        report = json.loads((out / "edge" / "report.json").read_text())
        sizes, goal = report["sizes_bytes"], report["size_goal"]
        csv = copy / "data" / "eval.csv"
        print(f"\n== {project.relative_to(ROOT) if project.is_relative_to(ROOT) else project}")
        print(f"  shipped variant: {report['variant']}  ({report['int8_note']})")
        for key in ("fp32_onnx", "int8_onnx", "fp32_ort", "int8_ort", "model_and_runner", "bundle"):
            if key in sizes:
                print(f"  {key:<17} {sizes[key]:>10,d} bytes  {sizes[key] / sizes['fp32_onnx']:6.1%} of fp32 ONNX")
        print(f"  size goal: (model.ort + runner.py) / fp32 ONNX = {goal['ratio']:.1%} "
              f"(goal <= {goal['goal']:.0%}: {'met' if goal['met'] else 'NOT met'})")
        runs = {"fp32 ONNX, onnxruntime": run_json([sys.executable, "-c", FP32_LOOP, str(out / "model" / "model.onnx"),
                                                   str(csv), str(calls)]),
                f"bundle runner ({report['variant']} ORT)": run_json(
                    [sys.executable, str(out / "edge" / "bundle" / "runner.py"), str(csv), "--benchmark", str(calls)])}
        print(f"  batch-1 latency on this host, {calls} calls:")
        for label, r in runs.items():
            print(f"    {label:<28} load {r['load_ms']:8.2f} ms   p50 {r['p50_ms']:.4f} ms   p99 {r['p99_ms']:.4f} ms"
                  f"   peak RSS {r['peak_rss_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--project", action="append", type=Path,
                        help="default: examples/quickstart and examples/mlp")
    args = parser.parse_args()
    for project in args.project or [ROOT / "examples" / "quickstart", ROOT / "examples" / "mlp"]:
        bench(project.resolve(), args.calls)


if __name__ == "__main__":
    main()
