"""Dynamic batching: concurrent requests for one model version are merged into one onnxruntime call.

One batch runs at a time per version (on the inference thread pool); while it runs, new requests queue. The
next batch takes every queued request that fits in ``max_batch_size`` rows (optionally waiting up to
``max_queue_delay_ms`` for more), concatenates inputs along the first axis, runs once and splits the outputs
back by row counts. The queue is bounded: a full queue raises :class:`Overloaded` at once (HTTP 503).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
from mlready.runtime.errors import Overloaded

Arrays = dict[str, np.ndarray]


@dataclass(slots=True)
class _Item:
    arrays: Arrays
    rows: int
    future: asyncio.Future
    enqueued: float
    _key: tuple | None = None

    @property
    def key(self) -> tuple:
        """What must match to concatenate two requests (computed only when a batch has a second request)."""
        if self._key is None:
            self._key = tuple((name, a.shape[1:], a.dtype.str) for name, a in sorted(self.arrays.items()))
        return self._key


class Batcher:
    def __init__(
        self,
        run: Callable[[Arrays], list[np.ndarray]],
        output_names: list[str],
        executor: Executor,
        max_batch_size: int,
        max_queue_delay_ms: float,
        queue_size: int,
        observe: Callable[[int, float], None] | None = None,
        uniform: bool = False,
    ):
        self._run = run
        self._outputs = output_names
        self._executor = executor
        self.max_batch_size = max_batch_size
        self._delay = max_queue_delay_ms / 1000.0
        self.queue_size = queue_size
        self._observe = observe  # (rows in batch, queue seconds of its oldest request)
        self._pending: deque[_Item] = deque()
        self._waiter: asyncio.Future | None = None  # the idle batcher waits on it; submit resolves it
        self._task: asyncio.Task | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None  # set with the task, by the first submit
        self._closed = False
        self.inline_rows = 0  # run batches of up to this many rows on the event loop (set by the warm-up)
        # every request's arrays can be concatenated with every other's (fixed trailing shapes and dtypes,
        # checked before submit): no per-request compatibility key
        self._uniform = uniform

    async def submit(self, arrays: Arrays) -> Arrays:
        return await self.enqueue(arrays)

    def enqueue(self, arrays: Arrays) -> asyncio.Future:
        """Queue one request; the future of its outputs (what :meth:`submit` awaits: callers on the hot path
        await it themselves, one coroutine frame fewer). Overloaded when closed or full, raised here."""
        if self._closed:
            raise Overloaded("the model version is shutting down")
        if len(self._pending) >= self.queue_size:
            raise Overloaded(f"the batch queue is full ({self.queue_size} requests waiting); retry later")
        loop = self._event_loop  # the loop of the batcher's task (asyncio.get_running_loop is a getpid() call)
        if loop is None:
            loop = self._event_loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._loop())
        first = next(iter(arrays.values()))
        future = loop.create_future()
        self._pending.append(_Item(arrays, int(first.shape[0]), future, time.perf_counter()))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return future

    async def _wait(self, timeout: float | None = None) -> None:
        """Until the next submit (or ``timeout`` seconds: TimeoutError). A bare future: cheaper per request than
        an ``asyncio.Event`` set and cleared around every batch."""
        self._waiter = self._event_loop.create_future()
        if timeout is None:
            await self._waiter
        else:
            await asyncio.wait_for(self._waiter, timeout)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                await self._wait()
            while self._pending:
                if self._delay and self._rows_pending() < self.max_batch_size:
                    deadline = self._pending[0].enqueued + self._delay
                    while self._rows_pending() < self.max_batch_size:
                        remaining = deadline - time.perf_counter()
                        if remaining <= 0:
                            break
                        try:
                            await self._wait(remaining)
                        except TimeoutError:
                            break
                batch = self._take()
                if not batch:
                    continue
                now = time.perf_counter()
                try:
                    if len(batch) == 1:
                        merged = batch[0].arrays
                    else:
                        merged = {name: np.concatenate([it.arrays[name] for it in batch]) for name in batch[0].arrays}
                    rows = sum(it.rows for it in batch)
                    if self._observe is not None:
                        self._observe(rows, now - batch[0].enqueued)
                    if rows <= self.inline_rows:
                        outputs = self._run(merged)
                    else:
                        outputs = await loop.run_in_executor(self._executor, self._run, merged)
                except asyncio.CancelledError:
                    for it in batch:
                        if not it.future.done():
                            it.future.set_exception(Overloaded("the model version was unloaded"))
                    raise
                except Exception as exc:
                    if len(batch) == 1:
                        if not batch[0].future.done():
                            batch[0].future.set_exception(exc)
                        continue
                    # One bad request must not fail its neighbours: run each alone.
                    for it in batch:
                        try:
                            alone = await loop.run_in_executor(self._executor, self._run, it.arrays)
                        except Exception as one:
                            if not it.future.done():
                                it.future.set_exception(one)
                            continue
                        self._split([it], alone)
                    continue
                self._split(batch, outputs)

    def _rows_pending(self) -> int:
        return sum(it.rows for it in self._pending)

    def _take(self) -> list[_Item]:
        first = self._pending.popleft()
        if first.future.done():  # the client went away
            return []
        batch, rows, skipped = [first], first.rows, []
        while self._pending and rows < self.max_batch_size:
            it = self._pending[0]
            if it.future.done():
                self._pending.popleft()
                continue
            if rows + it.rows > self.max_batch_size:
                break
            self._pending.popleft()
            if not self._uniform and it.key != first.key:  # different trailing shapes cannot be concatenated: next batch
                skipped.append(it)
                continue
            batch.append(it)
            rows += it.rows
        self._pending.extendleft(reversed(skipped))
        return batch

    def _split(self, batch: list[_Item], outputs: list[np.ndarray]) -> None:
        if len(batch) == 1:
            it = batch[0]
            if not it.future.done():
                it.future.set_result(dict(zip(self._outputs, outputs, strict=True)))
            return
        start = 0
        for it in batch:
            end = start + it.rows
            if not it.future.done():
                it.future.set_result({n: o[start:end] for n, o in zip(self._outputs, outputs, strict=True)})
            start = end

    async def close(self) -> None:
        self._closed = True
        # the model version's bound methods: cycles (version -> batcher -> version) the collector would have to
        # find, and cannot for a version frozen at startup (Service._freeze_heap): dropped, refcounting frees it
        self._run, self._observe = _unloaded, None
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        while self._pending:
            it = self._pending.popleft()
            if not it.future.done():
                it.future.set_exception(Overloaded("the model version was unloaded"))


def _unloaded(arrays: Arrays) -> list[np.ndarray]:
    raise Overloaded("the model version was unloaded")
