"""The model repository ``<repo>/<model>/<version>/model.onnx`` and the versions being served.

:meth:`ModelManager.poll` scans the repository, applies each model's version policy, loads and warms new
versions on a loader thread, and only then routes traffic to them. Versions that leave the policy are first
removed from routing, then unloaded once their in-flight requests finish, so no request fails during a switch.
A version that fails to load is reported (status, log, metric) and is left out of the policy's choice, so it
never replaces a serving version; it is retried when its files change.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mlready.runtime.config import RuntimeConfig
from mlready.runtime.errors import NotFound, Unavailable
from mlready.runtime.metrics import Metrics
from mlready.runtime.model import METADATA_FILE, MODEL_FILE, LoadError, ModelVersion, load_version

log = logging.getLogger("mlready.runtime.repository")


@dataclass
class VersionStatus:
    state: str  # START, LOADING, AVAILABLE, UNLOADING, END, FAILED
    error: str = ""
    fingerprint: tuple = ()

    def to_tfserving(self, version: int) -> dict:
        return {"version": str(version), "state": self.state,
                "status": {"error_code": "UNKNOWN" if self.error else "OK", "error_message": self.error}}


def parse_version(text: str) -> int | None:
    """A version number as written in a folder name or a request (``"3"``), or None when it is not one.

    ASCII digits only: ``str.isdigit`` also accepts ``"²"`` or ``"٣"``, which ``int()`` refuses or reads as
    another number; and at most 18 digits (``int()`` refuses very long strings, and versions are int64 on the
    wire)."""
    if not (0 < len(text) <= 18 and text.isascii() and text.isdigit()):
        return None
    version = int(text)
    return version if version > 0 else None


def scan(root: Path) -> dict[str, dict[int, tuple]]:
    """model -> version -> fingerprint of model.onnx (size, mtime). Unreadable entries are skipped."""
    found: dict[str, dict[int, tuple]] = {}
    try:
        models = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return found
    for m in models:
        if m.name.startswith(".") or not m.is_dir():
            continue
        versions: dict[int, tuple] = {}
        try:
            entries = list(os.scandir(m.path))
        except OSError:
            continue
        for v in entries:
            number = parse_version(v.name)
            if number is None or not v.is_dir():
                continue
            try:
                st = os.stat(os.path.join(v.path, MODEL_FILE))
                meta_path = os.path.join(v.path, METADATA_FILE)
                meta = os.stat(meta_path) if os.path.exists(meta_path) else None
            except OSError:
                continue
            versions[number] = (st.st_size, st.st_mtime_ns, meta and (meta.st_size, meta.st_mtime_ns))
        found[m.name] = versions
    return found


class ModelManager:
    def __init__(self, config: RuntimeConfig, metrics: Metrics, executor: Executor):
        self.config = config
        self.root = Path(config.model_repository)
        self.metrics = metrics
        self.executor = executor
        self.serving: dict[str, dict[int, ModelVersion]] = {}  # routable versions only
        self.latest: dict[str, ModelVersion] = {}  # the highest routable version per model
        self.status: dict[str, dict[int, VersionStatus]] = {}
        self._loader = ThreadPoolExecutor(1, thread_name_prefix="mlready-loader")
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task] = set()
        self.polled = False

    # -- routing ------------------------------------------------------------------------------------------

    def models(self) -> list[str]:
        return sorted(set(self.status) | set(self.config.models))

    def resolve(self, name: str, version: int | str | None = None, label: str | None = None) -> ModelVersion:
        if name not in self.status and name not in self.config.models:
            served = self.models()
            listed = ", ".join(served[:20]) + (f" and {len(served) - 20} more" if len(served) > 20 else "")
            raise NotFound(f"model '{name[:100]}' not found (this server has: {listed or 'no models'})")
        if label is not None:
            labels = self.config.model(name).labels
            if label not in labels:
                raise NotFound(f"model '{name}' has no label '{label}' (labels: {', '.join(sorted(labels)) or 'none'})")
            version = labels[label]
        if version is None or version == "":
            mv = self.latest.get(name)
            if mv is None:
                raise Unavailable(f"model '{name}' has no version available yet")
            return mv
        if isinstance(version, str):
            number = parse_version(version)
            if number is None:
                raise NotFound(f"model '{name}' has no version '{version[:40]}' (versions are positive integers)")
            version = number
        mv = self.serving.get(name, {}).get(version)
        if mv is not None:
            return mv
        st = self.status.get(name, {}).get(version)
        if st is None or st.state == "END":
            raise NotFound(f"model '{name}' has no version {version}")
        detail = f": {st.error}" if st.error else ""
        raise Unavailable(f"model '{name}' version {version} is not available ({st.state}{detail})")

    def metadata(self, name: str, version: int | str | None = None) -> dict:
        """The v2 model metadata; without a version it lists every routable version."""
        meta = self.resolve(name, version).metadata()
        if version is None:
            meta["versions"] = [str(v) for v in sorted(self.serving.get(name, {}))]
        return meta

    def ready(self) -> bool:
        if not self.polled:
            return False
        names = self.config.models or self.status
        return all(self.latest.get(n) is not None for n in names) and bool(names)

    def model_ready(self, name: str, version: str | None = None) -> bool:
        """False while a known version loads (or failed); an unknown model or version raises NotFound."""
        try:
            self.resolve(name, version)
            return True
        except Unavailable:
            return False

    # -- loading ------------------------------------------------------------------------------------------

    def _set(self, name: str, version: int, state: str, error: str = "", fingerprint: tuple = ()) -> None:
        st = self.status.setdefault(name, {}).setdefault(version, VersionStatus("START"))
        st.state, st.error = state, error
        if fingerprint:
            st.fingerprint = fingerprint
        self.metrics.set_state(name, version, state)

    async def poll(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            found = await loop.run_in_executor(self._loader, scan, self.root)
            if not found and not self.root.is_dir() and not self.polled:
                log.error("the model repository is not a directory", extra={"path": str(self.root)})
            for name in sorted(set(found) | set(self.status)):
                await self._sync_model(name, found.get(name, {}))
            self.polled = True

    async def _sync_model(self, name: str, versions: dict[int, tuple]) -> None:
        mconf = self.config.model(name)
        statuses = self.status.setdefault(name, {})
        loadable = [v for v, fp in versions.items()
                    if not (statuses.get(v) and statuses[v].state == "FAILED" and statuses[v].fingerprint == fp)]
        wanted = set(mconf.version_policy.select(loadable))
        serving = self.serving.setdefault(name, {})
        loop = asyncio.get_running_loop()
        for v in sorted(wanted - set(serving), reverse=True):
            self._set(name, v, "LOADING", fingerprint=versions[v])
            t0 = time.perf_counter()
            try:
                mv = await loop.run_in_executor(self._loader, load_version, name, v, self.root / name / str(v),
                                                mconf, self.config.threads, self.executor, self.metrics,
                                                self.config.providers)
            except LoadError as exc:
                self._set(name, v, "FAILED", str(exc))
                self.metrics.child(self.metrics.load_failures, name, str(v)).inc()
                log.error("model version failed to load", extra={"model": name, "version": v, "error": str(exc)})
                continue
            elapsed = time.perf_counter() - t0
            self.metrics.child(self.metrics.load_duration, name, str(v)).set(elapsed)
            serving[v] = mv
            self._set(name, v, "AVAILABLE")
            self._route(name)
            log.info("model version available", extra={"model": name, "version": v, "seconds": round(elapsed, 3)})
        # A model whose every wanted version failed keeps what it serves (never replaced by a failure).
        keep_old = not (wanted & set(serving))
        for v in sorted(set(serving) - wanted):
            if keep_old and v in versions:
                continue
            self._retire(serving.pop(v))
        self._route(name)
        for v, st in statuses.items():
            if v not in versions and st.state == "FAILED":
                self._set(name, v, "END")

    def _route(self, name: str) -> None:
        serving = self.serving.get(name, {})
        if serving:
            self.latest[name] = serving[max(serving)]
        else:
            self.latest.pop(name, None)

    def _retire(self, mv: ModelVersion) -> None:
        """Already out of routing: unload once in-flight requests finish."""
        self._set(mv.name, mv.version, "UNLOADING")

        async def finish() -> None:
            await mv.wait_idle(max(self.config.drain_seconds, 1.0))
            await mv.close()
            self._set(mv.name, mv.version, "END")
            log.info("model version unloaded", extra={"model": mv.name, "version": mv.version})

        task = asyncio.get_running_loop().create_task(finish())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def run_polling(self) -> None:
        interval = self.config.poll_interval_s
        while interval > 0:
            await asyncio.sleep(interval)
            try:
                await self.poll()
            except Exception:  # a bug or an unexpected OS error must not stop polling
                log.exception("repository poll failed")

    async def close(self, timeout: float) -> None:
        for name in list(self.serving):
            for v in list(self.serving[name]):
                self._retire(self.serving[name].pop(v))
            self._route(name)
        if self._retiring:
            await asyncio.wait(list(self._retiring), timeout=timeout)
        self._loader.shutdown(wait=False, cancel_futures=True)
