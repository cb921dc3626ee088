"""One loaded model version: an onnxruntime session, its signature, an optional batcher, in-flight counting."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
from mlready.runtime.answers import answers_for
from mlready.runtime.batching import Arrays, Batcher
from mlready.runtime.config import ModelConfig, ProviderConfig, ThreadConfig
from mlready.runtime.errors import BadRequest, Overloaded
from mlready.runtime.metrics import Metrics
from mlready.runtime.signature import Signature, check_inputs

MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
PLATFORM = "onnxruntime_onnx"

log = logging.getLogger("mlready.runtime.model")


class LoadError(Exception):
    pass


class ModelVersion:
    def __init__(self, name: str, version: int, path: Path, session: Any, signature: Signature,
                 config: ModelConfig, executor: Executor, metrics: Metrics):
        self.name = name
        self.version = version
        self.path = path
        self.session = session
        self.signature = signature
        self.config = config
        self.metrics = metrics
        self.executor = executor
        self.inflight = 0
        self._idle: asyncio.Event | None = None
        self._output_names = signature.output_names
        self.answers = answers_for(signature)  # class names, one number per regression row (None: as the model says)
        v = str(version)
        self._m_infer = metrics.child(metrics.inference_duration, name, v)
        self._m_batch = metrics.child(metrics.batch_size, name, v)
        self._m_queue = metrics.child(metrics.queue_duration, name, v)
        self._m_rejected = metrics.child(metrics.queue_rejected, name, v)
        self.drift = None  # the model's live drift counter (runtime/drift.py), when the config has a reference
        if config.drift is not None:
            unknown = config.drift.unknown_tensors([t.name for t in signature.inputs], list(self._output_names))
            if unknown:  # a reference built for another model: serve, but do not count
                log.warning("model '%s' version %d: drift counting off: the drift reference names %s, which the "
                            "model does not have", name, version, ", ".join(unknown))
            else:
                self.drift = metrics.drift.counter(name, config.drift, list(self._output_names), signature.classes)
        self.version_label = str(version)  # the metrics' version label
        self.inline_rows = 0  # see warmup(): a cheap model runs calls of up to this many rows on the event loop
        self.batcher: Batcher | None = None
        b = config.batching
        if b.enabled and signature.batchable:
            self.batcher = Batcher(self._run, self._output_names, executor, b.max_batch_size,
                                   b.max_queue_delay_ms, b.queue_size, self._observe_batch,
                                   uniform=signature.input_check is not None)

    def _observe_batch(self, rows: int, queued: float) -> None:
        self._m_batch.observe(rows)
        self._m_queue.observe(queued)

    def _run(self, arrays: Arrays) -> list[np.ndarray]:
        t0 = time.perf_counter()
        try:
            out = self.session.run(self._output_names, arrays)
        except Exception as exc:
            # The model ran at warm-up and the input matched the signature: what fails now is this input
            # (a value or a dynamic dimension the graph cannot take), so the client hears why.
            if type(exc).__module__.startswith("onnxruntime"):
                raise BadRequest(f"model '{self.name}' cannot run on this input: {str(exc).strip()[:300]}") from None
            raise
        self._m_infer.observe(time.perf_counter() - t0)
        if self.drift is not None:
            try:
                self.drift.observe(arrays, out)
            except Exception:  # counting must never fail a prediction: log once, stop counting for this version
                log.exception("model '%s' version %d: drift counting failed; off for this version", self.name,
                              self.version)
                self.drift = None
        return out

    def _run_unbatched(self, arrays: Arrays, enqueued: float) -> list[np.ndarray]:
        self._m_queue.observe(time.perf_counter() - enqueued)
        self._m_batch.observe(int(next(iter(arrays.values())).shape[0]) if arrays else 1)
        return self._run(arrays)

    async def infer(self, arrays: Arrays, outputs: list[str] | None = None) -> Arrays:
        """Validate and run. In-flight counting starts before the first await (see ModelManager.retire)."""
        check_inputs(self.signature, arrays)
        self.inflight += 1
        try:
            if self.batcher is not None:
                try:
                    result = await self.batcher.enqueue(arrays)
                except Overloaded:
                    self._m_rejected.inc()
                    raise
            elif 0 < next(iter(arrays.values())).shape[0] <= self.inline_rows:
                values = self._run_unbatched(arrays, time.perf_counter())
                result = dict(zip(self._output_names, values, strict=True))
            else:
                loop = asyncio.get_running_loop()
                values = await loop.run_in_executor(self.executor, self._run_unbatched, arrays,
                                                    time.perf_counter())
                result = dict(zip(self._output_names, values, strict=True))
        finally:
            self.inflight -= 1
            if self.inflight == 0 and self._idle is not None:
                self._idle.set()
        if outputs is not None:
            result = {n: result[n] for n in outputs}
        if self.answers is not None:
            return self.answers.apply(result)  # a fresh dict per request (batcher split, zip, filter)
        return result

    async def wait_idle(self, timeout: float) -> bool:
        if self.inflight == 0:
            return True
        self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        if self.batcher is not None:
            await self.batcher.close()
        self.session = None

    @property
    def served_outputs(self) -> tuple:
        """The output tensors as answered (class names are BYTES, regression outputs one number per row)."""
        outputs = self.signature.outputs
        return self.answers.served(outputs) if self.answers is not None else outputs

    def metadata(self) -> dict[str, Any]:
        """v2 model metadata; ``parameters`` says how to call the model by name (``features``: name, datatype,
        the input and index it feeds) and what the answers call the classes (``class_names``, ``task``)."""
        meta: dict[str, Any] = {
            "name": self.name,
            "versions": [str(self.version)],
            "platform": PLATFORM,
            "inputs": [t.to_dict() for t in self.signature.inputs],
            "outputs": [t.to_dict() for t in self.served_outputs],
        }
        sig = self.signature
        params: dict[str, Any] = {}
        if sig.task is not None:
            params["task"] = sig.task
        if sig.features is not None:
            params["features"] = [f.to_dict() for f in sig.features]
        if sig.class_names is not None:
            params["class_names"] = list(sig.class_names)
        if params:
            meta["parameters"] = params
        return meta


def session_options(threads: ThreadConfig) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if threads.intra_op:
        opts.intra_op_num_threads = threads.intra_op
    if threads.inter_op:
        opts.inter_op_num_threads = threads.inter_op
    # Busy-waiting worker threads steal the CPU the event loop needs on small machines.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return opts


def providers_for(configured: tuple[ProviderConfig, ...]) -> tuple[list[str], list[dict[str, str]]]:
    """The configured providers this onnxruntime build has, in order, then CPU (always the fallback)."""
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    names, options = [], []
    for p in configured:
        if p.name == "CPUExecutionProvider" or p.name in names:
            continue
        if p.name not in available:
            log.warning("execution provider not available in this onnxruntime build; skipped",
                        extra={"provider": p.name})
            continue
        names.append(p.name)
        options.append(dict(p.options))
    return [*names, "CPUExecutionProvider"], [*options, {}]


def load_version(name: str, version: int, path: Path, config: ModelConfig, threads: ThreadConfig,
                 executor: Executor, metrics: Metrics,
                 providers: tuple[ProviderConfig, ...] = ()) -> ModelVersion:
    """Load and warm up one version (blocking; called on a loader thread). Raises LoadError."""
    import onnxruntime as ort

    model_file = path / MODEL_FILE
    names, options = providers_for(providers)
    try:
        session = ort.InferenceSession(str(model_file), sess_options=session_options(threads),
                                       providers=names, provider_options=options)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise LoadError(f"cannot load {model_file}: {str(exc).strip()[:500]}") from exc
    try:
        graph = Signature.from_session(session, name, version)
    except ValueError as exc:
        raise LoadError(f"{model_file}: {exc}") from exc
    signature = graph
    meta_file = path / METADATA_FILE
    if meta_file.is_file():
        try:
            data = json.loads(meta_file.read_text(encoding="utf-8"))
            meta = Signature.from_dict(data, where=str(meta_file)).checked_against(graph)
        except (OSError, ValueError) as exc:
            raise LoadError(f"{meta_file}: {exc}") from exc
        signature = dataclasses.replace(meta, name=name, version=version)
    if signature.example is not None and signature.feature_map is not None:
        try:
            signature.feature_map.from_records([signature.example], "example")
        except BadRequest as exc:
            raise LoadError(f"{meta_file}: {exc.message}") from None
    mv = ModelVersion(name, version, path, session, signature, config, executor, metrics)
    if config.warmup:
        warmup(mv, threads.inline_below_ms / 1000.0)
    probe_missing(mv)
    return mv


def probe_missing(mv: ModelVersion) -> None:
    """Refuse nulls for the float features this version has no imputer for (:meth:`FeatureMap.probe_missing`)."""
    fmap = mv.signature.feature_map
    if fmap is None:
        return
    names = mv.signature.output_names
    refused = fmap.probe_missing(lambda arrays: mv.session.run(names, arrays), mv.signature.example)
    if refused:
        log.info("model '%s' version %d: no imputer for %d feature(s): a null for them is refused",
                 mv.name, mv.version, len(refused))


def warmup(mv: ModelVersion, inline_below_s: float = 0.0) -> None:
    """Run the model once per batch-size bucket so first requests are not slow; time the calls.

    A call faster than ``inline_below_s`` (median of 7 for one row, of 3 for each larger bucket) is cheaper to
    run on the event loop than to hand to a thread (a future, a wake-up and two GIL hand-offs: ~50-100 us on a
    small machine), so calls of up to the largest such bucket's rows run inline (``inline_rows``; 0: none).
    """
    sizes = [1]
    if mv.batcher is not None:
        sizes += [s for s in (2, 4, 8, 16, 32, 64, 128, 256) if s <= mv.batcher.max_batch_size]
    timed = inline_below_s > 0 and bool(mv.signature.inputs) and all(
        s.shape and s.shape[0] < 0 for s in mv.signature.inputs)
    for size in sizes:
        arrays = {}
        for spec in mv.signature.inputs:
            shape = spec.example_shape(size)
            if spec.dtype.kind == "O":
                arrays[spec.name] = np.full(shape, "", dtype=object)
            else:
                arrays[spec.name] = np.zeros(shape, dtype=spec.dtype)
        try:
            mv.session.run(mv.signature.output_names, arrays)
            if timed:
                times = []
                for _ in range(7 if size == 1 else 3):
                    t0 = time.perf_counter()
                    mv.session.run(mv.signature.output_names, arrays)
                    times.append(time.perf_counter() - t0)
                if sorted(times)[len(times) // 2] < inline_below_s:
                    mv.inline_rows = size
                else:
                    timed = False  # larger buckets are slower still
        except Exception as exc:
            guessed = any(d < 0 for spec in mv.signature.inputs for d in spec.shape[1:])
            if size == 1 and not guessed:
                raise LoadError(f"warm-up failed: {str(exc).strip()[:500]}") from exc
            break  # dynamic inner dimensions: a zero input of guessed shape proves nothing
    if mv.batcher is not None:
        mv.batcher.inline_rows = mv.inline_rows
