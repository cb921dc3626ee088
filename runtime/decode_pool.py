"""Large request bodies are decoded in a separate process, so the server's GIL is free while they parse.

orjson parses a 16 MB JSON body in one C call that holds the GIL (150-600 ms here), and so does turning 16 MiB
of BYTES elements into a numpy object array; on a thread that still stalls the event loop (health checks, every
other connection) for that long. Here a small process pool - started lazily with the first large body, from a
``forkserver`` that preloads only :mod:`~mlready.runtime.request_decode` (the codecs, numpy, orjson; never
onnxruntime or the models) - runs the decode, and the server only unpickles the resulting arrays (a memcpy).

- bounded: ``http_limits.decode_workers`` processes (1 by default; 0 decodes on the inference thread pool);
  the transport's decode budget still bounds the bytes queued for them;
- a worker that dies (killed, out of memory) fails the requests it held with 503 and the pool is replaced, so
  the next large body gets a fresh worker; never a hang;
- :meth:`DecodePool.close` at shutdown stops the workers at once (they hold no state worth waiting for).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from mlready.runtime.errors import Overloaded
from mlready.runtime.request_decode import Decoded

log = logging.getLogger("mlready.runtime.decode")

_PRELOAD = ["mlready.runtime.request_decode"]


class Decode:
    """A decode as a picklable call: ``fn(signature, *args)``, a module-level function of
    :mod:`~mlready.runtime.request_decode`. Called with a model version it runs here (the small-body path)."""

    __slots__ = ("fn", "args")

    def __init__(self, fn: Callable[..., Decoded], *args: Any):
        self.fn, self.args = fn, args

    def __call__(self, mv: Any) -> Decoded:
        return self.fn(mv.signature, *self.args)

    def in_process(self) -> Callable[[Any], Decoded]:
        """This decode as a plain callable: never sent to the pool (on the inference threads when large)."""
        return self.__call__


def _worker_init() -> None:
    # The server owns shutdown: a Ctrl-C or SIGTERM sent to the process group must not kill a decode midway.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class DecodePool:
    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self.closed = False

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init)
        return self._pool

    async def run(self, decode: Decode, signature: Any) -> Decoded:
        if self.closed:
            raise Overloaded("the server is shutting down")
        for attempt in (1, 2):
            pool = self._executor()
            try:
                # submitted from a thread: the first submit starts the forkserver and the worker and waits for
                # them (imports: ~0.3 s), which must not stall the event loop
                future = await asyncio.to_thread(pool.submit, decode.fn, signature, *decode.args)
            except BrokenProcessPool:  # a worker died while idle: this request never reached it, so retry once
                self._replace(pool)
                if attempt == 2:
                    raise Overloaded("the decode worker could not be started; retry") from None
                continue
            except OSError:  # no process can start here (no writable temp dir, process limit): decode on a thread
                log.exception("cannot start a decode worker; decoding this body on a thread")
                if self._pool is pool:
                    self._pool = None
                    _stop(pool)
                return await asyncio.to_thread(decode.fn, signature, *decode.args)
            try:
                return await asyncio.wrap_future(future)
            except BrokenProcessPool:
                self._replace(pool)
                raise Overloaded("the decode worker stopped while decoding this request; retry") from None
        raise AssertionError("unreachable")

    def _replace(self, pool: ProcessPoolExecutor) -> None:
        """The first request to see a broken pool drops it; the next large body starts a fresh one."""
        if self._pool is pool:
            self._pool = None
            log.error("a decode worker died; a new one starts with the next large request")
            _stop(pool)

    def close(self) -> None:
        self.closed = True
        if self._pool is not None:
            _stop(self._pool)
            self._pool = None


def _stop(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public way to end busy workers
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.kill()


__all__ = ["Decode", "DecodePool"]
