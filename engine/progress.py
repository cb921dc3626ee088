"""Build progress on the terminal (rich), only when stderr is a terminal and the user did not ask for quiet;
library warnings recorded during a build and summarized once."""

from __future__ import annotations

import sys
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlready.engine.execute import NullReporter, StepRecord
from mlready.engine.manifest import CacheState

ICON = {CacheState.HIT: "[green]cached[/]", CacheState.MISS: "[green]built[/]", CacheState.FAILED: "[red]FAILED[/]",
        CacheState.SKIPPED: "[yellow]skipped[/]"}


class RichReporter(NullReporter):
    """A live spinner line per running step; one line per finished step."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=20), TimeElapsedColumn(),
            console=self.console, transient=True,
        )
        self.tasks: dict[str, Any] = {}
        self.lock = threading.Lock()

    def start(self, total: int) -> None:
        self.progress.start()

    def step_started(self, step_id: str, description: str) -> None:
        with self.lock:
            self.tasks[step_id] = self.progress.add_task(f"{step_id}: {description}", total=None)

    def step_progress(self, step_id: str, message: str, fraction: float | None) -> None:
        with self.lock:
            task = self.tasks.get(step_id)
            if task is not None:
                self.progress.update(task, description=f"{step_id}: {message}",
                                     total=1.0 if fraction is not None else None, completed=fraction or 0)

    def step_finished(self, record: StepRecord) -> None:
        with self.lock:
            task = self.tasks.pop(record.id, None)
            if task is not None:
                self.progress.remove_task(task)
            note = f" — {record.error}" if record.error and record.cache != CacheState.SKIPPED else ""
            self.progress.console.print(f"  {ICON.get(record.cache, record.cache):<24} {record.id} "
                                        f"[dim]{record.seconds:.2f}s[/]{note}", highlight=False)

    def stop(self) -> None:
        self.progress.stop()


def reporter_for(quiet: bool, as_json: bool) -> NullReporter:
    if quiet or as_json or not sys.stderr.isatty():
        return PlainReporter(quiet or as_json)
    return RichReporter()


class PlainReporter(NullReporter):
    """Non-interactive output (CI logs): one line per finished step."""

    def __init__(self, silent: bool) -> None:
        self.silent = silent

    def step_finished(self, record: StepRecord) -> None:
        if not self.silent:
            note = f" ({record.error})" if record.error else ""
            print(f"  {record.cache:<8} {record.id} {record.seconds:.2f}s{note}", file=sys.stderr, flush=True)


#: categories Python's default filters hide from users: recorded, not shown
QUIET_BY_DEFAULT = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@contextmanager
def library_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record the warnings libraries raise during a build (from every step thread) instead of letting each
    one print with its file path; :func:`warning_summary` says each kind once, with a count. (The warnings
    state is process-global: a step thread's own ``catch_warnings`` nests inside this one; at worst an
    interleaving prints a warning the usual way instead of recording it.)"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _origin(filename: str) -> str:
    """The library a warning came from (``sklearn``), else the file's name."""
    parts = Path(filename).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return parts[parts.index(marker) + 1].removesuffix(".py")
    return Path(filename).name


def warning_summary(caught: list[warnings.WarningMessage]) -> list[str]:
    """One line per distinct warning: ``warning: sklearn ConvergenceWarning (5 times): lbfgs failed ...``."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for w in caught:
        if issubclass(w.category, QUIET_BY_DEFAULT):
            continue
        first = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        counts[(_origin(w.filename), w.category.__name__, first[:200])] += 1
    return [f"warning: {origin} {category}{f' ({n} times)' if n > 1 else ''}: {message}"
            for (origin, category, message), n in counts.items()]
