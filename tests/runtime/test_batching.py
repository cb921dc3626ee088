"""The dynamic batcher in-process: requests merge into one call, split back in order; a full queue is 503."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from mlready.runtime.batching import Batcher
from mlready.runtime.errors import BadRequest, Overloaded


def _run_factory(calls: list[int], gate: threading.Event | None = None):
    def run(arrays):
        if gate is not None:
            gate.wait(5)
        x = arrays["x"]
        calls.append(x.shape[0])
        if (x < 0).any():
            raise BadRequest("negative")
        return [x * 2, x.sum(axis=1)]

    return run


def _batcher(pool, calls: list[int], gate: threading.Event | None = None, *, max_batch_size: int = 8,
             max_queue_delay_ms: float = 0, queue_size: int = 100, **kw) -> Batcher:
    """A batcher of the test model (outputs ``double`` and ``sum``) that records each call's rows in ``calls``."""
    return Batcher(_run_factory(calls, gate), ["double", "sum"], pool, max_batch_size=max_batch_size,
                   max_queue_delay_ms=max_queue_delay_ms, queue_size=queue_size, **kw)


def test_concurrent_requests_are_merged_and_split_back():
    calls: list[int] = []
    gate = threading.Event()

    async def main():
        with ThreadPoolExecutor(2) as pool:
            b = _batcher(pool, calls, gate)
            inputs = [np.full((1, 3), i, np.float32) for i in range(9)]
            tasks = [asyncio.create_task(b.submit({"x": inputs[0]}))]
            await asyncio.sleep(0.05)  # the first call runs (blocked on the gate) ...
            tasks += [asyncio.create_task(b.submit({"x": x})) for x in inputs[1:]]
            await asyncio.sleep(0.01)  # ... while the other eight queue
            gate.set()
            results = await asyncio.gather(*tasks)
            await b.close()
        return inputs, results

    inputs, results = asyncio.run(main())
    for x, r in zip(inputs, results, strict=True):
        assert np.array_equal(r["double"], x * 2) and r["sum"].tolist() == [x.sum()]
    assert calls[0] == 1 and calls[1] == 8  # the second call merged eight queued requests


def test_a_full_queue_answers_at_once_and_a_bad_request_fails_alone():
    calls: list[int] = []
    gate = threading.Event()

    async def main():
        with ThreadPoolExecutor(2) as pool:
            b = _batcher(pool, calls, gate, queue_size=3)
            first = asyncio.create_task(b.submit({"x": np.ones((1, 2), np.float32)}))
            await asyncio.sleep(0.05)
            queued = [asyncio.create_task(b.submit({"x": np.full((1, 2), v, np.float32)})) for v in (1, -1, 2)]
            await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            with pytest.raises(Overloaded):
                await b.submit({"x": np.ones((1, 2), np.float32)})
            assert time.perf_counter() - t0 < 0.05
            gate.set()
            await first
            results = await asyncio.gather(*queued, return_exceptions=True)
            await b.close()
        return results

    ok1, bad, ok2 = asyncio.run(main())
    assert isinstance(bad, BadRequest)
    assert ok1["double"].tolist() == [[2.0, 2.0]] and ok2["double"].tolist() == [[4.0, 4.0]]


def test_the_queue_delay_waits_for_more_rows_and_a_lone_request_still_runs():
    calls: list[int] = []

    async def main():
        with ThreadPoolExecutor(2) as pool:
            b = _batcher(pool, calls, max_batch_size=4, max_queue_delay_ms=150)
            t0 = time.perf_counter()
            alone = await b.submit({"x": np.ones((1, 2), np.float32)})  # nobody else comes: runs after the delay
            waited = time.perf_counter() - t0
            first = asyncio.create_task(b.submit({"x": np.ones((1, 2), np.float32)}))
            await asyncio.sleep(0.03)  # within the delay: these join the first request's batch
            rest = [asyncio.create_task(b.submit({"x": np.full((1, 2), v, np.float32)})) for v in (2, 3, 4)]
            merged = await asyncio.gather(first, *rest)
            await b.close()
        return alone, waited, merged

    alone, waited, merged = asyncio.run(main())
    assert alone["double"].tolist() == [[2.0, 2.0]] and 0.1 <= waited < 2
    assert [r["sum"].tolist() for r in merged] == [[2.0], [4.0], [6.0], [8.0]]
    assert calls == [1, 4]  # the second batch filled up to max_batch_size before its delay ran out


def test_requests_whose_shapes_differ_past_the_first_axis_are_not_merged():
    calls: list[int] = []
    gate = threading.Event()

    async def main():
        with ThreadPoolExecutor(2) as pool:
            b = _batcher(pool, calls, gate)
            first = asyncio.create_task(b.submit({"x": np.ones((1, 2), np.float32)}))
            await asyncio.sleep(0.05)  # the first call runs (blocked on the gate) while the others queue
            queued = [asyncio.create_task(b.submit({"x": np.ones((1, n), np.float32)})) for n in (2, 3, 2, 3)]
            await asyncio.sleep(0.01)
            gate.set()
            results = await asyncio.gather(first, *queued)
            await b.close()
        return results

    results = asyncio.run(main())
    assert [r["sum"].tolist() for r in results] == [[2.0], [2.0], [3.0], [2.0], [3.0]]
    assert calls == [1, 2, 2]  # the two 2-wide and the two 3-wide requests: one call each


def test_close_answers_the_batch_on_the_pool_and_the_queue_at_once():
    calls: list[int] = []
    gate = threading.Event()

    async def main():
        with ThreadPoolExecutor(2) as pool:
            b = _batcher(pool, calls, gate)
            running = asyncio.create_task(b.submit({"x": np.ones((1, 2), np.float32)}))
            await asyncio.sleep(0.05)  # on the pool, blocked on the gate
            queued = [asyncio.create_task(b.submit({"x": np.ones((1, 2), np.float32)})) for _ in range(3)]
            await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            await b.close()
            results = await asyncio.wait_for(asyncio.gather(running, *queued, return_exceptions=True), 1)
            took = time.perf_counter() - t0
            with pytest.raises(Overloaded):
                await b.submit({"x": np.ones((1, 2), np.float32)})
            gate.set()
        return results, took

    results, took = asyncio.run(main())
    assert all(isinstance(r, Overloaded) for r in results) and took < 0.5


def test_one_row_batches_run_on_the_loop_and_a_failing_one_fails_alone():
    calls: list[int] = []

    async def main():
        with ThreadPoolExecutor(2) as pool:
            b = _batcher(pool, calls)
            b.inline_rows = 1
            loop_thread = threading.get_ident()
            seen: list[int] = []
            run = b._run
            b._run = lambda arrays: (seen.append(threading.get_ident()), run(arrays))[1]
            bad = b.submit({"x": -np.ones((1, 2), np.float32)})
            with pytest.raises(BadRequest):
                await bad
            good = await b.submit({"x": np.ones((1, 2), np.float32)})
            await b.close()
        return good, seen, loop_thread

    good, seen, loop_thread = asyncio.run(main())
    assert good["double"].tolist() == [[2.0, 2.0]] and seen == [loop_thread, loop_thread]


def test_batches_up_to_inline_rows_run_on_the_loop_larger_ones_on_the_pool():
    """A cheap model (warm-up: ``inline_rows``) runs merged batches on the event loop; a batch of more rows
    than that goes to the pool. ``uniform``: no per-request compatibility key is computed."""
    calls: list[int] = []

    async def main():
        with ThreadPoolExecutor(2) as pool:
            b = _batcher(pool, calls, max_batch_size=64, uniform=True)
            b.inline_rows = 4
            loop_thread = threading.get_ident()
            seen: list[tuple[int, int]] = []
            run = b._run
            b._run = lambda arrays: (seen.append((arrays["x"].shape[0], threading.get_ident())), run(arrays))[1]
            small = await asyncio.gather(*(b.submit({"x": np.full((1, 2), i, np.float32)}) for i in range(3)))
            large = await b.submit({"x": np.ones((8, 2), np.float32)})
            await b.close()
        return small, large, seen, loop_thread

    small, large, seen, loop_thread = asyncio.run(main())
    assert [r["sum"].tolist() for r in small] == [[0.0], [2.0], [4.0]]
    assert large["double"].shape == (8, 2)
    assert seen[0] == (3, loop_thread)  # three requests merged into one call, on the loop
    assert seen[1][0] == 8 and seen[1][1] != loop_thread


def test_warmup_times_each_bucket_and_sets_inline_rows(tmp_path, mk):
    """The warm-up times one call per batch-size bucket: a cheap model runs merged batches of up to the largest
    bucket under ``threads.inline_below_ms`` on the event loop; 0 turns inlining off."""
    from mlready.runtime.config import BatchingConfig, ModelConfig, ThreadConfig
    from mlready.runtime.metrics import create_metrics
    from mlready.runtime.model import load_version

    path = mk.write_version(tmp_path, "mlp", 1, mk.mlp_model([8, 4, 2]))
    with ThreadPoolExecutor(1) as pool:
        config = ModelConfig(batching=BatchingConfig(enabled=True, max_batch_size=16))
        fast = load_version("mlp", 1, path, config, ThreadConfig(inline_below_ms=5), pool, create_metrics())
        off = load_version("mlp", 1, path, config, ThreadConfig(inline_below_ms=0), pool, create_metrics())
    assert fast.inline_rows == 16 and fast.batcher.inline_rows == 16  # a 8->4->2 MLP: far under 5 ms
    assert off.inline_rows == 0 and off.batcher.inline_rows == 0
