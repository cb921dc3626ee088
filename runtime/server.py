"""Run the server: HTTP (granian, ``http_transport``) and gRPC (grpc_transport) in one event loop, sharing one
:class:`Service`.

Lifecycle: sockets open at once (liveness answers), models load in the background, readiness turns true
after every configured model is loaded and warmed. On SIGTERM/SIGINT: readiness turns false, the server keeps
serving for ``shutdown_delay_seconds`` (so load balancers notice), then stops accepting, lets in-flight
requests finish within ``drain_seconds``, unloads the models and exits 0.

``workers > 1`` starts that many worker processes sharing the ports (SO_REUSEPORT); metrics are then
aggregated with prometheus_client's multiprocess mode in a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
from typing import Any

from mlready.runtime.config import RuntimeConfig
from mlready.runtime.service import Service

log = logging.getLogger("mlready.runtime.server")


def effective_config(config: RuntimeConfig) -> RuntimeConfig:
    """Apply Vertex AI's ``AIP_HTTP_PORT`` (when cloud.vertex is on)."""
    import dataclasses

    port = os.environ.get("AIP_HTTP_PORT")
    if config.cloud.vertex and port and port.isdigit() and int(port) != config.http_port:
        config = dataclasses.replace(config, http_port=int(port))
    return config


async def serve(config: RuntimeConfig, *, worker: bool = False, on_ready: Any = None) -> int:
    """Serve until a signal (or ``stop`` on the returned objects); returns the exit code."""
    from mlready.runtime.grpc_service import create_grpc_server
    from mlready.runtime.http_transport import HttpFrontEnd
    from mlready.runtime.rest import create_app

    config = effective_config(config)
    try:
        service = Service(config)
    except ValueError as exc:
        log.error("cannot start: %s", exc)
        return 2
    http = HttpFrontEnd(create_app(service), config)
    if worker:
        # A worker joins the shared ports only once loaded, so the kernel never hands a connection to a
        # worker that would answer 503 while its siblings are ready.
        await service.start()
        await service.wait_loaded()
    try:
        http.bind_check()
    except OSError as exc:
        log.error("cannot bind the HTTP port", extra={"host": config.host, "port": config.http_port,
                                                      "error": exc.strerror})
        return 1
    grpc_server = None
    if config.grpc_port is not None:
        grpc_server = create_grpc_server(service)
        try:
            await grpc_server.start(config.host, config.grpc_port, reuse_port=worker)
        except OSError as exc:
            log.error("cannot bind the gRPC port", extra={"host": config.host, "port": config.grpc_port,
                                                          "error": exc.strerror})
            return 1
    await service.start()  # no-op for a worker (started above)

    metrics_http = None
    if config.metrics_port and not worker:
        metrics_http = _start_metrics_server(config.metrics_port, config.host, service.metrics.registry)

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stopping.is_set():
            return
        log.info("signal received: draining", extra={"signal": signal.Signals(signum).name})
        service.shutting_down = True
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)

    async def announce() -> None:
        await service.wait_loaded()
        log.info("ready" if service.ready() else "loaded, but not every configured model is available",
                 extra={"http_port": config.http_port, "grpc_port": config.grpc_port,
                        "models": service.manager.models()})
        if on_ready is not None:
            on_ready()

    async def watch() -> None:  # a signal may come before the models finish loading
        await stopping.wait()
        await asyncio.sleep(config.shutdown_delay_seconds)
        stops = [http.stop(config.drain_seconds)]
        if grpc_server is not None:
            stops.append(grpc_server.stop(config.drain_seconds))
        await asyncio.gather(*stops)

    announcer = loop.create_task(announce())
    watcher = loop.create_task(watch())
    http_task = http.start()
    await asyncio.wait([watcher, http_task], return_when=asyncio.FIRST_COMPLETED)
    failed = http_task.done() and not stopping.is_set()
    if failed:  # the front end failed to start (or died): stop the rest
        log.error("the HTTP front end stopped", extra={"error": repr(http_task.exception())})
        stopping.set()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    announcer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await announcer
    await service.stop()
    if metrics_http is not None:
        metrics_http.shutdown()
    log.info("stopped")
    return 1 if failed else 0


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


def _start_metrics_server(port: int, host: str, registry: Any) -> Any:
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


def _run_loop(coro: Any) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in requirements.txt
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_until_stopped(config: RuntimeConfig, on_ready: Any = None) -> int:
    """One in-process server (no workers) until a signal; ``on_ready`` runs once the models are loaded."""
    return _run_loop(serve(config, on_ready=on_ready))


def run(config: RuntimeConfig, config_path: str | None = None, worker: bool = False) -> int:
    """Blocking entry point (``python -m mlready.runtime``)."""
    if config.workers > 1 and not worker:
        return _supervise(config)
    return _run_loop(serve(config, worker=worker))


def _supervise(config: RuntimeConfig) -> int:
    """Start ``workers`` processes sharing the ports; forward signals; aggregate metrics."""
    tmp = tempfile.mkdtemp(prefix="mlready-workers-")
    metrics_dir = os.path.join(tmp, "metrics")
    os.mkdir(metrics_dir)
    effective = os.path.join(tmp, "runtime.json")  # the config with command-line overrides applied
    with open(effective, "w", encoding="utf-8") as fh:
        fh.write(config.to_json())
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    cmd = [sys.executable, "-m", "mlready.runtime", "--config", effective, "--worker"]
    children = [subprocess.Popen(cmd, env=env) for _ in range(config.workers)]

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    metrics_http = None
    if config.metrics_port:
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=metrics_dir)
        metrics_http = _start_metrics_server(config.metrics_port, config.host, registry)
    codes = [child.wait() for child in children]
    if metrics_http is not None:
        metrics_http.shutdown()
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return max(codes)
