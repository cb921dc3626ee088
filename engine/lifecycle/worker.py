"""``python -m mlready.engine.lifecycle.worker <job dir>``: record one build in MLflow (see
:mod:`mlready.engine.lifecycle.background`). Exit 0 and the job dir removed on success; exit 1 with
``error.txt`` in the job dir otherwise."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    job_dir = Path(argv[0])
    try:
        from mlready.engine.lifecycle.tracking import TrackingJob, run_job

        job = TrackingJob.from_json((job_dir / "job.json").read_text(encoding="utf-8"))
        tracked = run_job(job)
    except BaseException as exc:  # noqa: BLE001 - everything is reported through error.txt
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        (job_dir / "error.txt").write_text(message + "\n", encoding="utf-8")
        import traceback

        traceback.print_exc()
        return 1
    print("\n".join(tracked.lines()), flush=True)
    shutil.rmtree(job_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
