"""Cold build vs no-op rebuild of an example, side by side in one run.

    .venv/bin/python benchmarks/bench_build.py [--project examples/quickstart] [--repeat 3] [OVERRIDES...]

A cold build starts from an empty cache and no build dir; a no-op rebuild runs again with nothing changed.
Both run the real CLI in a subprocess (so imports count). Prints medians, the ratio (goal: a no-op
rebuild costs at most 10% of a cold build) and whether every rebuild step was a cache hit.
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

from mlready.engine.manifest import CacheState, Manifest

ROOT = Path(__file__).resolve().parents[1]


def timed_build(project: Path, out: Path, cache: Path, overrides: list[str]) -> tuple[float, Manifest]:
    env = {**os.environ, "MLREADY_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "mlready.engine", "build", "-q", "-C", str(project), "--out", str(out), *overrides]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    elapsed = time.perf_counter() - t0
    return elapsed, Manifest.load(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", default=str(ROOT / "examples" / "quickstart"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("overrides", nargs="*", default=["+target=k8s"])
    args = ap.parse_args()
    project = Path(args.project).resolve()
    cold, noop, all_hits = [], [], True
    with tempfile.TemporaryDirectory(prefix="mlready-bench-") as tmp:
        for i in range(args.repeat):
            cache, out = Path(tmp) / f"cache{i}", Path(tmp) / f"out{i}"
            t_cold, m_cold = timed_build(project, out, cache, args.overrides)
            t_noop, m_noop = timed_build(project, out, cache, args.overrides)
            cold.append(t_cold)
            noop.append(t_noop)
            all_hits &= all(s.cache == CacheState.HIT for s in m_noop.steps)
            shutil.rmtree(cache), shutil.rmtree(out)
    steps = [s.id for s in m_cold.steps]
    c, n = statistics.median(cold), statistics.median(noop)
    print(f"project: {project.name}  overrides: {' '.join(args.overrides)}  steps: {len(steps)} ({', '.join(steps)})")
    print(f"cold build     median {c:6.2f} s   runs: {', '.join(f'{x:.2f}' for x in cold)}")
    print(f"no-op rebuild  median {n:6.2f} s   runs: {', '.join(f'{x:.2f}' for x in noop)}")
    print(f"no-op / cold   {100 * n / c:5.1f} %   (goal <= 10 %)   every rebuild step a cache hit: {all_hits}")
    return 0 if all_hits else 1


if __name__ == "__main__":
    sys.exit(main())
