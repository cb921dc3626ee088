"""Recording a build in MLflow off the build's critical path.

``mlready build`` writes the build dir, then hands the run to a worker process
(``python -m mlready.engine.lifecycle.worker <job dir>``) and returns: importing MLflow alone takes ~2.5 s,
longer than a changed build. A job is a directory ``<project>/.mlready/tracking/jobs/<id>/`` holding
``job.json`` (:class:`~mlready.engine.lifecycle.tracking.TrackingJob`), a snapshot of the build's
``manifest.json``, ``reports/`` and ``model/`` (hard links where possible: the writer replaces files, never
edits them, so a later build cannot change the snapshot) and the worker's ``worker.log``. The worker records
the run under the project's tracking lock, then deletes the job; on failure it writes ``error.txt`` and keeps
the job, and the next build reports it once (:func:`reported_failures`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlready.engine.lifecycle.tracking import TrackingJob

JOBS = Path(".mlready") / "tracking" / "jobs"
SNAPSHOT = ("manifest.json", "reports", "model")
_WORKERS: list[subprocess.Popen[bytes]] = []


@atexit.register
def _leave_running() -> None:
    """Workers outlive the command on purpose (they record the run after it exits): not a leaked process,
    so no "subprocess is still running" ResourceWarning at exit."""
    for worker in _WORKERS:
        if worker.poll() is None:
            worker.returncode = 0


def jobs_dir(project_dir: Path) -> Path:
    return Path(project_dir) / JOBS


def _link_tree(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, copy_function=_link_or_copy)
    elif src.is_file():
        _link_or_copy(str(src), str(dst))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)


def start(job: TrackingJob) -> list[str]:
    """Snapshot the build's files, start the worker, and say so."""
    from dataclasses import replace

    project = Path(job.marker).parent.parent
    job_dir = jobs_dir(project) / f"{time.time_ns()}-{os.getpid()}"
    files = job_dir / "files"
    files.mkdir(parents=True)
    for name in SNAPSHOT:
        _link_tree(Path(job.files_dir) / name, files / name)
    job = replace(job, files_dir=str(files))
    (job_dir / "job.json").write_text(job.to_json(), encoding="utf-8")
    with open(job_dir / "worker.log", "wb") as log:
        worker = subprocess.Popen(  # noqa: S603 - our own module with a path we made
            [sys.executable, "-m", "mlready.engine.lifecycle.worker", str(job_dir)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            close_fds=True,
        )
    _WORKERS[:] = [w for w in _WORKERS if w.poll() is None]  # reap the finished ones; none is waited for
    _WORKERS.append(worker)
    (job_dir / "pid").write_text(str(worker.pid), encoding="utf-8")
    lines = [f"mlflow: recording this build in the background (pid {worker.pid}, {job.store.display}); "
             "a failure is reported by the next build"]
    if job.register and job.model_sha:
        lines.append(f"  the model becomes the next MLflow registry version of {job.registered_name} unless this "
                     "exact model is registered already: registry versions count registrations, the server "
                     f"serves it as model.version {job.model_version}")
    return lines


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # being started: the pid file comes right after the process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # our own child that exited and was not reaped yet is a zombie: not alive
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _pending(project_dir: Path) -> list[Path]:
    """Jobs still being recorded. A job whose worker is gone without a word (killed) becomes a failure."""
    root = jobs_dir(project_dir)
    if not root.is_dir():
        return []
    pending = []
    for job_dir in sorted(root.iterdir()):
        if any((job_dir / n).exists() for n in ("error.txt", "error.reported.txt")) or not job_dir.is_dir():
            continue
        if _alive(job_dir / "pid"):
            pending.append(job_dir)
        else:  # (a worker that succeeded removed its job dir before it exited)
            with contextlib.suppress(OSError):
                (job_dir / "error.txt").write_text("the worker stopped before recording the run (killed?); see "
                                                   "worker.log\n", encoding="utf-8")
    return pending


def pending_fingerprint(project_dir: Path, fingerprint: str) -> bool:
    """Whether a job still being recorded is this same build (a no-op rebuild right after a build)."""
    import json

    for job_dir in _pending(project_dir):
        try:
            if json.loads((job_dir / "job.json").read_text(encoding="utf-8")).get("fingerprint") == fingerprint:
                return True
        except (OSError, ValueError):
            continue
    return False


def reported_failures(project_dir: Path) -> list[str]:
    """Warnings for background recordings that failed since the last build (each said once)."""
    lines: list[str] = []
    _pending(project_dir)  # dead workers' jobs become failures
    root = jobs_dir(project_dir)
    if not root.is_dir():
        return lines
    for job_dir in sorted(root.iterdir()):
        error = job_dir / "error.txt"
        if error.is_file():
            text = error.read_text(encoding="utf-8", errors="replace").strip()
            lines.append(f"warning: recording an earlier build in MLflow failed in the background: {text} "
                         f"(job and log kept in {job_dir}; `mlready build --wait-tracking` records in the "
                         "foreground)")
            error.rename(job_dir / "error.reported.txt")
    return lines


def wait(project_dir: Path, timeout: float = 300.0) -> bool:
    """Wait until no background job of the project is left running; False on timeout."""
    deadline = time.monotonic() + timeout
    while _pending(project_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
