"""The quickstart's image: size, what mlready adds to the base, cold start, and an unchanged rebuild.

    .venv/bin/python benchmarks/bench_image.py [--base IMAGE] [--cold-starts 5] [--rebuilds 3]

Builds a fresh copy of examples/quickstart with ``+target=docker`` through the Docker Engine API (DOCKER_HOST;
when unset, the podman harness in tools/containers/ is started), then measures, in this one run:
- image size, the size added on top of the base image and the largest added layer (goal: added <= 150 MB);
- cold start, container start -> first 200 from /v2/health/ready, run read-only and non-root, median of
  ``--cold-starts`` runs, each followed by one checked prediction (goal: <= 3 s);
- an unchanged rebuild (``mlready image --no-smoke`` again): wall time, and layers reused out of all steps
  (goal: every layer reused). Nothing here is a hard-coded figure.
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
MB = 1e6


def ensure_engine() -> None:
    if os.environ.get("DOCKER_HOST") or not shutil.which("podman"):
        return
    out = subprocess.run([str(ROOT / "tools/containers/service.sh")], check=True, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ[key] = value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=os.environ.get("MLREADY_TEST_BASE_IMAGE",
                                                         "localhost/mlready-test-base:bookworm"))
    parser.add_argument("--cold-starts", type=int, default=5)
    parser.add_argument("--rebuilds", type=int, default=3)
    args = parser.parse_args()
    ensure_engine()

    from mlready.engine import api
    from mlready.engine.actions import docker_engine as img
    from mlready.engine.actions.image import build_and_check
    from mlready.engine.actions.smoke import smoke_test

    overrides = ["tracking.enabled=false", "+target=docker", f"target.docker.base_image={args.base}"]
    with tempfile.TemporaryDirectory(prefix="bench-image-") as tmp:
        project = Path(tmp) / "quickstart"
        shutil.copytree(ROOT / "examples/quickstart", project,
                        ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
        t0 = time.perf_counter()
        first = build_and_check(project, overrides, smoke=False)
        first_wall = time.perf_counter() - t0

        client = img.connect()
        spec_result = api.build(project, overrides, run_hooks=False)
        cfg = spec_result.spec.section("target.docker")
        colds = []
        for _ in range(args.cold_starts):
            result = smoke_test(client, first.id, spec=spec_result.spec, context_dir=spec_result.out_dir / "docker",
                                user=f"{cfg.uid}:{cfg.gid}")
            colds.append(result.cold_start_s)

        rebuilds = []
        for _ in range(args.rebuilds):
            t0 = time.perf_counter()
            again = build_and_check(project, overrides, smoke=False)
            rebuilds.append((time.perf_counter() - t0, again))
        client.close()

    size = first.size
    print(f"image {first.ref} on base {args.base}")
    print(f"  first build in this run: {first_wall:.1f} s wall, image build {first.build_seconds:.1f} s, "
          f"{first.cached_steps}/{first.steps} layers already in the engine's cache")
    print(f"  image size:            {size.total / MB:8.1f} MB")
    if size.added is not None:
        verdict = "ok" if size.added <= 150 * MB else "OVER GOAL"
        print(f"  added on top of base:  {size.added / MB:8.1f} MB   (goal <= 150 MB: {verdict})")
        print(f"  largest added layer:   {size.largest_added_layer / MB:8.1f} MB")
    cold = statistics.median(colds)
    print(f"  cold start (start -> ready, read-only, non-root): median {cold:.2f} s over {len(colds)} runs "
          f"[min {min(colds):.2f}, max {max(colds):.2f}]  (goal <= 3 s: {'ok' if cold <= 3 else 'OVER GOAL'})")
    walls = [w for w, _ in rebuilds]
    reused = [f"{r.cached_steps}/{r.steps}" for _, r in rebuilds]
    all_reused = all(r.cached_steps == r.steps and r.id == first.id for _, r in rebuilds)
    print(f"  unchanged rebuild: median {statistics.median(walls):.1f} s wall "
          f"(image build median {statistics.median(r.build_seconds for _, r in rebuilds):.1f} s), layers reused "
          f"{', '.join(reused)}; same image id: {all_reused}  (goal: every layer reused: "
          f"{'ok' if all_reused else 'NO'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
