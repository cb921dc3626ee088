"""The protocol-independent core: models, readiness, auth, and one inference flow with its metrics.

Every protocol (TF Serving REST, v2 REST, v2 gRPC, cloud routes) calls :meth:`Service.infer` with a decode and
an encode function, so validation, timing and counting are identical everywhere.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from mlready.runtime.capture import Capture
from mlready.runtime.config import RuntimeConfig
from mlready.runtime.decode_pool import Decode, DecodePool
from mlready.runtime.errors import NotFound, ServingError, Unauthorized
from mlready.runtime.feedback import FeedbackStore
from mlready.runtime.metrics import PROTOCOLS, Metrics, create_metrics
from mlready.runtime.model import ModelVersion
from mlready.runtime.repository import ModelManager
from mlready.runtime.version import server_version

log = logging.getLogger("mlready.runtime")

SERVER_NAME = "mlready"
SERVER_VERSION = server_version()  # mlready's version (runtime/version.py)
EXTENSIONS = ["binary_tensor_data", "model_repository_status"]


class Auth:
    """Bearer-token check with a constant-time comparison. A token file is re-read when it changes."""

    def __init__(self, config: RuntimeConfig):
        self.conf = config.auth
        self._token: bytes | None = None
        self._header: str | None = None  # "Bearer <token>" when the token is ASCII: the common header, whole
        self._file_stamp: tuple | None = None
        self._checked = 0.0
        if self.conf.token_env is not None:
            value = os.environ.get(self.conf.token_env, "")
            if not value:
                raise ValueError(f"auth.token_env: environment variable {self.conf.token_env} is not set or empty")
            self._set(value.strip().encode())
        elif self.conf.token_file is not None:
            self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < 5.0:
            return
        self._checked = now
        path = Path(self.conf.token_file or "")
        try:
            st = path.stat()
            stamp = (st.st_size, st.st_mtime_ns)
            if stamp != self._file_stamp:
                token = path.read_text(encoding="utf-8").strip().encode()
                if token:
                    self._set(token)
                    self._file_stamp = stamp
        except OSError as exc:
            if force:
                raise ValueError(f"auth.token_file: cannot read {path}: {exc.strerror}") from exc
        if self._token is None:
            raise ValueError(f"auth.token_file: {path} is empty")

    def _set(self, token: bytes) -> None:
        self._token = token
        self._header = "Bearer " + token.decode("ascii") if token.isascii() else None

    @property
    def enabled(self) -> bool:
        return self.conf.enabled

    def check(self, authorization: str | None) -> None:
        conf = self.conf
        if not conf.enabled:
            return
        if conf.token_file is not None:
            self._refresh()
        header = self._header
        # the header exactly as clients send it: one constant-time comparison (the rest: the parse below)
        if header is not None and authorization is not None and authorization.isascii() and hmac.compare_digest(
                authorization, header):
            return
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("missing bearer token (send 'Authorization: Bearer <token>')")
        assert self._token is not None
        if not hmac.compare_digest(token.strip().encode(), self._token):
            raise Unauthorized("invalid bearer token")


def _freeze_heap() -> None:
    """Once the models are loaded and warmed (before readiness): collect, then move every object alive now
    (modules, onnxruntime sessions, numpy, protobuf: ~175k objects) to the collector's permanent generation, so
    the collections that serving triggers never traverse them again. A full collection of that heap took
    30-140 ms on this machine, on the event loop (figures in runtime/README.md, Benchmark). Frozen objects in a
    reference cycle are never collected, so what a retired version holds must be freed by refcounting: the
    batcher drops the version's bound methods on close (tests/runtime/test_frozen_heap.py)."""
    gc.collect()
    gc.freeze()


class _Observers(NamedTuple):
    decode: Callable[[float], None]
    encode: Callable[[float], None]
    duration: Callable[[float], None]
    ok: Callable[[], None]  # the requests counter with status 200


class Service:
    def __init__(self, config: RuntimeConfig, metrics: Metrics | None = None):
        self.config = config
        self.metrics = metrics or create_metrics()
        workers = config.threads.executor or max(2, min(8, os.cpu_count() or 2))
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="mlready-infer")
        self.manager = ModelManager(config, self.metrics, self.executor)
        self.decoder = DecodePool(config.http_limits.decode_workers)  # large bodies; started on first use
        self.auth = Auth(config)
        # prediction capture: a bounded queue and a writer thread (runtime/capture.py); None when off
        self.capture = Capture(config.capture, self.metrics) if config.capture.enabled else None
        # feedback: recent predictions by request id, joined with true labels posted later (runtime/feedback.py)
        # (with capture on, every accepted label is also written to the capture sink as a feedback record)
        self.feedback = FeedbackStore(config.feedback, self.metrics, capture=self.capture) \
            if config.feedback.enabled else None
        self.shutting_down = False
        self._tasks: list[asyncio.Task] = []
        self._started = False
        self.loaded: asyncio.Event | None = None  # created in start() (needs a running loop)
        self._inflight = {p: self.metrics.child(self.metrics.inflight, p) for p in PROTOCOLS}
        self._observers: dict[tuple[str, str, str], _Observers] = {}  # per (model, version, protocol)

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin loading (in the background: liveness answers at once, readiness after load and warm-up)."""
        if self._started:
            return
        self._started = True
        self.loaded = asyncio.Event()
        loop = asyncio.get_running_loop()

        async def initial() -> None:
            try:
                await self.manager.poll()
            except Exception:
                log.exception("initial repository load failed")
            finally:
                _freeze_heap()
                self.loaded.set()
            await self.manager.run_polling()

        self._tasks.append(loop.create_task(initial()))

    async def wait_loaded(self) -> None:
        if self.loaded is not None:
            await self.loaded.wait()

    async def stop(self, timeout: float | None = None) -> None:
        self.shutting_down = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self._tasks.clear()
        await self.manager.close(self.config.drain_seconds if timeout is None else timeout)
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.decoder.close()
        if self.capture is not None:
            self.capture.close()

    def ready(self) -> bool:
        return not self.shutting_down and self.manager.ready()

    def server_metadata(self) -> dict[str, Any]:
        return {"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": EXTENSIONS}

    def default_model(self) -> str:
        name = self.config.cloud.default_model
        if name:
            return name
        names = self.manager.models()
        if len(names) != 1:
            raise NotFound(f"this route serves one model, but the repository has {len(names)} "
                           f"({', '.join(names) or 'none'}); set cloud.default_model")
        return names[0]

    def _observers_for(self, model: str, version: str, protocol: str) -> _Observers:
        """The labelled children one request observes, looked up once per (model, version, protocol): four
        ``Metrics.child`` lookups per request were ~2 us of the hot path."""
        key = (model, version, protocol)
        obs = self._observers.get(key)
        if obs is None:
            if len(self._observers) > 4096:  # bounded: versions come and go with hot reload
                self._observers.clear()
            m = self.metrics
            obs = self._observers[key] = _Observers(
                m.child(m.decode_duration, model, protocol).observe, m.child(m.encode_duration, model, protocol).observe,
                m.child(m.request_duration, model, version, protocol).observe,
                m.child(m.requests, model, version, protocol, "200").inc)
        return obs

    # -- the one inference flow ---------------------------------------------------------------------------

    async def infer(self, protocol: str, name: str, version: Any, label: str | None,
                    decode: Callable[[ModelVersion], tuple[Any, list[str] | None, Any]],
                    encode: Callable[[ModelVersion, dict, Any], Any], offload: bool = False,
                    request_id: str = "") -> Any:
        """``request_id``: what capture records the request under (the id returned to the client). ``offload``: a large body, whose decode on the event loop would stall every other connection. A
        :class:`Decode` is then run in the decode process pool (off this process's GIL), any other decode on
        the inference thread pool; the encode runs on the thread pool."""
        m = self.metrics
        t0 = time.perf_counter()
        gauge = self._inflight[protocol]
        gauge.inc()
        mlabel, vlabel, status = name, "", "500"  # the model label: "_unknown" unless resolve found the name
        obs = None
        try:
            mv = self.manager.resolve(name, version, label)
            vlabel = mv.version_label
            obs = self._observers_for(mlabel, vlabel, protocol)
            loop = asyncio.get_running_loop() if offload else None
            if loop is not None and isinstance(decode, Decode) and self.decoder.workers:
                arrays, outputs, ctx = await self.decoder.run(decode, mv.signature)
            elif loop is not None:
                arrays, outputs, ctx = await loop.run_in_executor(self.executor, decode, mv)
            else:
                arrays, outputs, ctx = decode(mv)
            t1 = time.perf_counter()
            obs.decode(t1 - t0)
            result = await mv.infer(arrays, outputs)
            t2 = time.perf_counter()
            if loop is not None:
                body = await loop.run_in_executor(self.executor, encode, mv, result, ctx)
            else:
                body = encode(mv, result, ctx)
            obs.encode(time.perf_counter() - t2)
            if self.capture is not None:  # a queue append: the writer thread does the rest
                self.capture.submit(request_id, protocol, mv, arrays, result)
            if self.feedback is not None:  # a dict insert, bounded by rows and age
                self.feedback.remember(request_id, mv, result)
            status = "200"
            return body
        except ServingError as exc:
            status = str(exc.status)
            raise
        except asyncio.CancelledError:  # the client went away (a reset gRPC call): not a server error
            status = "499"
            raise
        finally:
            gauge.dec()
            if obs is not None and status == "200":
                obs.ok()
            else:
                if obs is None and name not in self.manager.status and name not in self.config.models:
                    mlabel = "_unknown"  # bounded label values: a client's made-up model names are not labels
                m.child(m.requests, mlabel, vlabel, protocol, status).inc()
            if obs is not None:
                obs.duration(time.perf_counter() - t0)
            else:  # resolve failed: no version
                m.child(m.request_duration, mlabel, vlabel, protocol).observe(time.perf_counter() - t0)
