"""What MLflow tracking adds to a changed build, side by side in one run.

    .venv/bin/python benchmarks/bench_tracking.py [--project examples/quickstart] [--repeat 5] [OVERRIDES...]

Each round runs the real CLI (``mlready build -q``, imports count) three times on a copy of the project, each
time with one key changed (``serving.replicas``: the cheap steps re-run, the model steps are cache hits), so
every build is a *changed* build that MLflow records as a new run:

- ``off``: ``MLREADY_TRACKING=0``;
- ``background``: the default, the run is handed to a worker process after the build dir is written;
- ``foreground``: ``--wait-tracking``, the run recorded before the command returns (the old behaviour).

Prints the median wall time of each and the overhead over ``off`` (goal: background adds < 0.5 s). Between
builds (untimed) it waits for the background worker, so a worker's MLflow import does not slow the next timed
build on a small machine; at the end it checks that every build became a FINISHED run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("off", "background", "foreground")


def timed(project: Path, cache: Path, mode: str, overrides: list[str]) -> float:
    env = {**os.environ, "MLREADY_CACHE_DIR": str(cache)}
    env.pop("MLFLOW_TRACKING_URI", None)
    if mode == "off":
        env["MLREADY_TRACKING"] = "0"
    else:
        env.pop("MLREADY_TRACKING", None)
    cmd = [sys.executable, "-m", "mlready.engine", "build", "-q", "-C", str(project), *overrides]
    if mode == "foreground":
        cmd.append("--wait-tracking")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", default=str(ROOT / "examples" / "quickstart"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("overrides", nargs="*", default=["+target=k8s"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(args.project, project, ignore=shutil.ignore_patterns("build", ".mlready"))
        cache = Path(tmp) / "cache"
        timed(project, cache, "foreground", [*args.overrides, "serving.replicas=1"])  # warm: cache, store
        times: dict[str, list[float]] = {m: [] for m in MODES}
        replicas = 2
        from mlready.engine.lifecycle.background import wait

        drained = True
        for _ in range(args.repeat):
            for mode in MODES:
                times[mode].append(timed(project, cache, mode, [*args.overrides, f"serving.replicas={replicas}"]))
                replicas += 1
                # untimed: the worker's MLflow import must not slow the next build on a small machine
                drained = wait(project, timeout=300) and drained
        from mlflow import MlflowClient

        client = MlflowClient(f"sqlite:///{project / '.mlready' / 'mlflow.db'}")
        runs = client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=1000)
        finished = sum(r.info.status == "FINISHED" for r in runs)
        jobs = project / ".mlready" / "tracking" / "jobs"
        failed = sorted(p.name for p in jobs.iterdir()) if jobs.is_dir() else []
    off = statistics.median(times["off"])
    print(f"changed build (one key), median of {args.repeat}, {' '.join(args.overrides)}:")
    for mode in MODES:
        med = statistics.median(times[mode])
        extra = "" if mode == "off" else f"  (+{med - off:.2f} s over off)"
        print(f"  {mode:<11} {med:6.2f} s  [{', '.join(f'{t:.2f}' for t in times[mode])}]{extra}")
    print(f"  runs recorded: {finished} FINISHED of {len(runs)} (expected {1 + 2 * args.repeat}); "
          f"background drained: {drained}; jobs left: {failed or 'none'}")
    return 0 if drained and not failed and finished == 1 + 2 * args.repeat else 1


if __name__ == "__main__":
    sys.exit(main())
