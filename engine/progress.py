"""Build progress on the terminal (rich), only when stderr is a terminal and the user did not ask for quiet."""

from __future__ import annotations

import sys
import threading
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
