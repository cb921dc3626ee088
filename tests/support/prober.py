"""Attack harness: measure what honest clients see while a test attacks a real model server.

A :class:`Prober` runs in its **own process** (so the attacking test's Python loop cannot delay it through the
GIL) and, until it is stopped, every ``interval`` seconds:

- opens a fresh TCP connection and sends ``GET /v2/health/ready`` to the REST port (what a kubelet does);
- sends one honest ``ModelInfer`` call on the gRPC port through grpcio's client (one long-lived channel, its
  own HTTP/2 connection);
- samples the server's resident memory (``VmRSS`` in ``/proc/<pid>/status``).

Each probe has a ``timeout``; a probe that times out, fails to connect or gets a non-OK answer counts as a
failure. Use it around an attack::

    from tests.support.prober import Prober, honest_request

    server = launch(model_repo)                       # tests/runtime/conftest.py (start_server)
    with Prober(server, honest_request("quickstart", "X", X[:1])) as probe:
        attack(server.grpc_port, seconds=3)
    probe.report.check(p99_ms=100, rss_mb=400)        # AssertionError with every figure when a goal is missed
    print(probe.report.summary())                     # "health p99 4.1 ms max 9.0 ms 0/97 failed, ..."

``server`` is anything with ``proc`` (a ``subprocess.Popen``), ``http_port`` and ``grpc_port`` (the
``Server`` of tests/runtime/conftest.py). ``grpc_request`` is a serialized ``inference.ModelInferRequest``
(``None``: no gRPC probe, e.g. for a server without a gRPC port). :func:`assert_serves` checks that a server
answers normally (after an attack).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MODEL_INFER = "/inference.GRPCInferenceService/ModelInfer"


@dataclass
class Series:
    """Latencies (ms) of the probes that succeeded, and what failed."""

    ms: list[float] = field(default_factory=list)
    failures: int = 0
    errors: list[str] = field(default_factory=list)  # the first few failure reasons

    @property
    def count(self) -> int:
        return len(self.ms) + self.failures

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile; a failed probe counts as infinitely slow."""
        values = sorted(self.ms) + [math.inf] * self.failures
        if not values:
            return math.nan
        return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def max(self) -> float:
        return max(self.ms, default=math.nan)

    def summary(self) -> str:
        return (f"p50 {self.percentile(50):.1f} ms p99 {self.p99:.1f} ms max {self.max:.1f} ms, "
                f"{self.failures}/{self.count} failed" + (f" ({self.errors[0]})" if self.errors else ""))


@dataclass
class Report:
    health: Series
    grpc: Series | None
    rss_before_mb: float
    rss_peak_mb: float
    rss_after_mb: float

    def summary(self) -> str:
        grpc = f"; grpc {self.grpc.summary()}" if self.grpc is not None else ""
        return (f"health {self.health.summary()}{grpc}; RSS {self.rss_before_mb:.0f} MB before, "
                f"{self.rss_peak_mb:.0f} MB peak, {self.rss_after_mb:.0f} MB after")

    def problems(self, p99_ms: float = 100.0, rss_mb: float | None = None, min_probes: int = 5) -> list[str]:
        """The goals missed: health (and gRPC) p99 over ``p99_ms`` or any failure, peak RSS over ``rss_mb``."""
        out = []
        for name, series in (("health", self.health), ("grpc", self.grpc)):
            if series is None:
                continue
            if series.count < min_probes:
                out.append(f"{name}: only {series.count} probes ran")
            if series.failures:
                out.append(f"{name}: {series.failures} of {series.count} probes failed: {series.errors}")
            if series.p99 > p99_ms:
                out.append(f"{name}: p99 {series.p99:.1f} ms > {p99_ms} ms")
        if rss_mb is not None and self.rss_peak_mb > rss_mb:
            out.append(f"memory: peak RSS {self.rss_peak_mb:.0f} MB > {rss_mb} MB")
        return out

    def check(self, p99_ms: float = 100.0, rss_mb: float | None = None) -> None:
        problems = self.problems(p99_ms, rss_mb)
        assert not problems, "; ".join(problems) + "\n" + self.summary()


class Prober:
    """Context manager: probing starts on enter (after one successful probe of each kind) and ends on exit;
    the figures are then in :attr:`report`."""

    def __init__(self, server: Any, grpc_request: bytes | None = None, *, interval: float = 0.03,
                 timeout: float = 2.0, authorization: str | None = None):
        self.args = {"http_port": server.http_port, "grpc_port": server.grpc_port, "pid": server.proc.pid,
                     "request": grpc_request.hex() if grpc_request is not None else None,
                     "interval": interval, "timeout": timeout, "authorization": authorization}
        self.report: Report | None = None
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Prober:
        self._proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        self._proc.stdin.write(json.dumps(self.args) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()  # "warm" once both probes answered once
        if line.strip() != "warm":
            self._proc.kill()
            raise RuntimeError(f"the prober did not start: {line}{self._proc.stderr.read()}")
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._proc is not None
        try:
            out, err = self._proc.communicate("stop\n", timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            raise RuntimeError("the prober did not stop") from None
        if self._proc.returncode != 0:
            raise RuntimeError(f"the prober failed:\n{err}")
        data = json.loads(out)
        self.report = Report(health=Series(**data["health"]),
                             grpc=Series(**data["grpc"]) if data["grpc"] is not None else None,
                             rss_before_mb=data["rss"][0], rss_peak_mb=data["rss"][1], rss_after_mb=data["rss"][2])


def honest_request(model: str, input_name: str, rows: Any, datatype: str = "FP32") -> bytes:
    """A serialized ModelInferRequest sending ``rows`` (a numpy array) as raw contents."""
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

    req = pb.ModelInferRequest(model_name=model)
    req.inputs.add(name=input_name, datatype=datatype, shape=list(rows.shape))
    req.raw_input_contents.append(rows.tobytes())
    return req.SerializeToString()


def assert_serves(server: Any, grpc_request: bytes | None = None, timeout: float = 5.0) -> None:
    """The server answers health and (with ``grpc_request``) an honest gRPC call on fresh connections."""
    assert server.proc.poll() is None, f"the server exited with {server.proc.returncode}"
    assert _health(server.http_port, timeout) is None
    if grpc_request is not None:
        import grpc

        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            channel.unary_unary(MODEL_INFER)(grpc_request, timeout=timeout)


# -- the probing process -------------------------------------------------------------------------------------


def _health(port: int, timeout: float) -> str | None:
    """None when GET /v2/health/ready answers 200 on a fresh connection, else why not."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/v2/health/ready")
        response = conn.getresponse()
        response.read()
        return None if response.status == 200 else f"HTTP {response.status}"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _loop(probe: Any, series: Series, interval: float, stop: threading.Event, warm: threading.Event) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        error = probe()
        ms = (time.perf_counter() - t0) * 1000
        if error is None:
            series.ms.append(ms)
            warm.set()
        elif warm.is_set():
            series.failures += 1
            if len(series.errors) < 5:
                series.errors.append(error)
        stop.wait(max(0.0, interval - ms / 1000))


def _main() -> None:
    args = json.loads(sys.stdin.readline())
    timeout, interval, pid = args["timeout"], args["interval"], args["pid"]
    stop = threading.Event()
    health, grpc_series = Series(), Series() if args["request"] is not None else None
    warm = [threading.Event(), threading.Event()]
    threads = [threading.Thread(target=_loop, args=(lambda: _health(args["http_port"], timeout), health,
                                                    interval, stop, warm[0]))]
    channel = None
    if grpc_series is not None:
        import grpc

        channel = grpc.insecure_channel(f"127.0.0.1:{args['grpc_port']}")
        call = channel.unary_unary(MODEL_INFER)
        request = bytes.fromhex(args["request"])
        metadata = [("authorization", args["authorization"])] if args["authorization"] else None

        def infer() -> str | None:
            try:
                call(request, timeout=timeout, metadata=metadata)
            except grpc.RpcError as exc:
                return f"{exc.code().name}: {exc.details()}"
            return None

        threads.append(threading.Thread(target=_loop, args=(infer, grpc_series, interval, stop, warm[1])))
    else:
        warm[1].set()
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while not all(w.is_set() for w in warm):
        if time.monotonic() > deadline:
            stop.set()
            print("the server never answered the probes", flush=True)
            sys.exit(1)
        time.sleep(0.01)
    before = peak = _rss_mb(pid)
    print("warm", flush=True)
    stopped = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stopped.set()), daemon=True).start()
    while not stopped.wait(0.02):
        peak = max(peak, _rss_mb(pid))
    stop.set()
    for t in threads:
        t.join()
    if channel is not None:
        channel.close()
    after = _rss_mb(pid)
    json.dump({"health": vars(health), "grpc": vars(grpc_series) if grpc_series else None,
               "rss": [before, max(peak, after), after]}, sys.stdout)


if __name__ == "__main__":
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    _main()
