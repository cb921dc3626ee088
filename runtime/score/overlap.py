"""Reading, scoring and writing overlapped: the next record batch is read, and the previous output written,
while this one is scored.

pyarrow's Parquet/CSV decoding and encoding and onnxruntime's ``run`` release the GIL, so a reader thread, the
scoring thread and a writer thread use separate cores. Each hand-over is a queue of at most ``depth`` batches:
memory stays bounded whatever the input size. Errors travel to the scoring thread, in order; ``close``/``abort``
stop a thread within one batch (an interrupted run then discards its temporary files as before).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

_END = object()
_POLL = 0.1  # seconds a blocked hand-over waits before checking whether the other side stopped


class ReadAhead:
    """Iterate ``source`` in a thread, at most ``depth`` items ahead of the consumer."""

    def __init__(self, source: Iterator[Any], depth: int = 2):
        self._queue: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name="mlready-score-read", daemon=True)
        self._thread.start()

    def _run(self, source: Iterator[Any]) -> None:
        try:
            for item in source:
                if not self._put((True, item)):
                    return
            self._put((True, _END))
        except BaseException as exc:  # noqa: BLE001 - every error is the consumer's to raise
            self._put((False, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # a generator's finally blocks (open files) run here, in its own thread

    def _put(self, item: tuple[bool, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Any]:
        while True:
            ok, item = self._queue.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class WriteBehind:
    """``write(item)`` for every :meth:`put` item, in order, in a thread at most ``depth`` items behind. A write
    error is raised by the next :meth:`put` or by :meth:`close`."""

    def __init__(self, write: Callable[[Any], None], depth: int = 2):
        self._write = write
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlready-score-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _END:
                return
            try:
                self._write(item)
            except BaseException as exc:  # noqa: BLE001 - raised in the scoring thread
                self._error = exc
                return

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item: Any) -> None:
        while True:
            self._raise()
            if not self._thread.is_alive():
                self._raise()  # it stopped on an error between the two checks
                raise RuntimeError("the writer thread stopped")
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait until every item is written; raise the write error, if any."""
        if self._thread.is_alive():
            self.put(_END)
            self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Stop after the write in progress; what is still queued is dropped."""
        self._stop.set()
        self._thread.join()
