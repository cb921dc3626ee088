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


#: what to tell a user whose port is taken (the same flags on ``mlready serve`` and ``python -m mlready.runtime``)
PORT_HINT = {
    "HTTP": "another process listens there: pick another port with --http-port N (0 = any free port)",
    "gRPC": "another process listens there: pick another port with --grpc-port N (0 = any free port), "
            "or serve REST only with --grpc-port off",
}
#: ``serve`` returns this when ``restart`` fired: the caller lays out the new build and serves again
RESTART = -1


def _exclusive_bind(host: str, port: int) -> None:
    """Raise OSError when another socket listens on ``host:port``. granian binds with SO_REUSEPORT (for
    workers), so a second server on a taken port would silently share it: probe without the option first."""
    import socket

    if not port:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are no conflict
        sock.bind((host, port))


def _free_port(host: str) -> int:
    """A port the kernel says is free now (``http_port: 0``): granian's workers each bind their own socket, so
    asking granian for port 0 would leave us (and the user) not knowing which one it got."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


async def _listening(host: str, port: int, task: asyncio.Task, timeout: float = 30.0) -> bool:
    """Wait until the HTTP front end accepts connections on ``port`` (False if it failed first)."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not task.done() and loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection(target, port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


def _cannot_bind(kind: str, host: str, port: int | None, exc: OSError) -> int:
    log.error(f"cannot bind the {kind} port {host}:{port}: {exc.strerror or exc}; {PORT_HINT[kind]}",
              extra={"host": host, "port": port, "error": exc.strerror})
    return 1


async def serve(config: RuntimeConfig, *, worker: bool = False, on_ready: Any = None, on_bound: Any = None,
                restart: Any = None) -> int:
    """Serve until a signal (or ``stop`` on the returned objects); returns the exit code.

    ``on_bound(http_port, grpc_port)`` runs once both ports are bound (the ports actually bound: ``0`` picks a
    free one), before any model is loaded: ``mlready serve`` prints its banner there, never before.
    ``restart``: an awaitable; when it finishes, the server stops at once and returns :data:`RESTART`
    (``mlready serve --watch`` passes one that finishes when the build changes)."""
    from mlready.runtime.grpc_service import create_grpc_server
    from mlready.runtime.http_transport import HttpFrontEnd
    from mlready.runtime.rest import create_app

    config = effective_config(config)
    if config.http_port == 0 and not worker:
        import dataclasses

        try:
            config = dataclasses.replace(config, http_port=_free_port(config.host))
        except OSError as exc:
            return _cannot_bind("HTTP", config.host, 0, exc)
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
        if not worker:
            _exclusive_bind(config.host, config.http_port)
        http.bind_check()
    except OSError as exc:
        return _cannot_bind("HTTP", config.host, config.http_port, exc)
    grpc_server = None
    grpc_port = None
    if config.grpc_port is not None:
        grpc_server = create_grpc_server(service)
        try:
            grpc_port = await grpc_server.start(config.host, config.grpc_port, reuse_port=worker)
        except OSError as exc:
            return _cannot_bind("gRPC", config.host, config.grpc_port, exc)
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

    bound = {"http_port": config.http_port, "grpc_port": grpc_port}  # the ports actually bound

    async def announce() -> None:
        await service.wait_loaded()
        log.info("ready" if service.ready() else "loaded, but not every configured model is available",
                 extra={**bound, "models": service.manager.models()})
        if on_ready is not None:
            on_ready()

    restarting = False

    async def restart_when() -> None:
        nonlocal restarting
        await restart
        restarting = True
        log.info("restarting: the build changed")
        stopping.set()

    restarter = loop.create_task(restart_when()) if restart is not None else None

    async def watch() -> None:  # a signal may come before the models finish loading
        await stopping.wait()
        if not restarting:
            await asyncio.sleep(config.shutdown_delay_seconds)
        stops = [http.stop(config.drain_seconds)]
        if grpc_server is not None:
            stops.append(grpc_server.stop(config.drain_seconds))
        await asyncio.gather(*stops)

    watcher = loop.create_task(watch())
    http_task = http.start()
    announcer = loop.create_task(announce())
    if on_bound is not None and await _listening(config.host, config.http_port, http_task):
        on_bound(config.http_port, grpc_port)
    await asyncio.wait([watcher, http_task], return_when=asyncio.FIRST_COMPLETED)
    failed = http_task.done() and not stopping.is_set()
    if failed:  # the front end failed to start (or died): stop the rest
        log.error("the HTTP front end stopped", extra={"error": repr(http_task.exception())})
        stopping.set()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    for task in (announcer, restarter):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    await service.stop()
    if metrics_http is not None:
        metrics_http.shutdown()
    log.info("stopped")
    return 1 if failed else RESTART if restarting else 0


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


def run(config: RuntimeConfig, config_path: str | None = None, worker: bool = False, on_bound: Any = None,
        restart: Any = None) -> int:
    """Blocking entry point (``python -m mlready.runtime``, ``mlready serve``); ``restart`` makes the coroutine
    that ends the server with :data:`RESTART` (called inside the server's event loop)."""
    if config.workers > 1 and not worker:
        return _supervise(config)

    async def main() -> int:
        return await serve(config, worker=worker, on_bound=on_bound, restart=restart() if restart else None)

    return _run_loop(main())


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
