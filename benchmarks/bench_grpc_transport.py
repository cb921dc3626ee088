"""gRPC transport benchmark: mlready's hand-written HTTP/2 transport against the ``h2`` library, and (optionally)
today's server against an older commit's, side by side with h2load.

    .venv/bin/python benchmarks/bench_grpc_transport.py [--duration 5] [--rounds 3] [--against COMMIT]

1. **Transport only**: one handler that answers a ModelInferRequest without a model (so only framing, HPACK,
   flow control and dispatch are measured), served (a) by :class:`mlready.runtime.grpc_transport.GrpcServer` and
   (b) by an asyncio protocol over the ``h2`` library's sans-IO state machine (``H2Protocol`` below: the
   alternative issue 20 asks to measure; its flood protections are h2's own). h2load, 32 connections, one call in
   flight per connection, the request tritonclient sends.
2. **The whole server** (``--against COMMIT...``): ``mlready.runtime`` of this tree against the one of each
   COMMIT (extracted to a temp dir and run as plain source), on the benchmark MLP, gRPC through h2load; and
   the transport's own CPU per call in-process (the same client bytes fed to the connection object with no
   socket, so the machine's noise mostly drops out).

Prints req/s, p50/p99 and server CPU µs per call as medians of alternating rounds. Helpers (h2load, CPU
accounting, model) come from bench_serving.py.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _bench_serving():
    spec = importlib.util.spec_from_file_location("bench_serving", HERE / "bench_serving.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_serving"] = module
    spec.loader.exec_module(module)
    return module


# -- the two transports, with one model-free handler ---------------------------------------------------------


async def _answer(request):
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

    resp = pb.ModelInferResponse(model_name=request.model_name, model_version="1", id=request.id)
    resp.outputs.add(name="output", datatype="FP32", shape=[1, 2])
    resp.raw_output_contents.append(b"\0" * 8)
    return resp


def serve_mlready(port: int) -> None:
    from mlready.runtime.grpc_transport import GrpcServer
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

    async def handler(request, call):
        return await _answer(request)

    async def main() -> None:
        server = GrpcServer({"/inference.GRPCInferenceService/ModelInfer": (pb.ModelInferRequest.FromString, handler)},
                            max_message_bytes=16 << 20)
        await server.start("127.0.0.1", port)
        await asyncio.Event().wait()

    _run(main())


class H2Protocol(asyncio.Protocol):
    """Unary gRPC over the ``h2`` library: h2 parses, validates and frames; this only dispatches calls."""

    def __init__(self) -> None:
        import h2.config
        import h2.connection

        # h2 at its fastest: header validation and normalisation off (they cost it ~20% more CPU per call)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_inbound_headers=False, normalize_inbound_headers=False,
            validate_outbound_headers=False, normalize_outbound_headers=False))
        self.bodies: dict[int, bytearray] = {}
        self.headers: dict[int, list] = {}
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.conn.initiate_connection()
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        import h2.events
        import h2.exceptions

        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.transport.write(self.conn.data_to_send())
            self.transport.close()
            return
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                self.headers[ev.stream_id] = ev.headers
                self.bodies[ev.stream_id] = bytearray()
            elif isinstance(ev, h2.events.DataReceived):
                self.bodies[ev.stream_id] += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                body = self.bodies.pop(ev.stream_id, b"")
                asyncio.get_running_loop().create_task(self._call(ev.stream_id, bytes(body)))
            elif isinstance(ev, h2.events.StreamReset):
                self.bodies.pop(ev.stream_id, None)
        out = self.conn.data_to_send()
        if out:
            self.transport.write(out)

    async def _call(self, sid: int, body: bytes) -> None:
        import h2.exceptions
        from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

        payload = (await _answer(pb.ModelInferRequest.FromString(body[5:]))).SerializeToString()
        try:
            self.conn.send_headers(sid, [(b":status", b"200"), (b"content-type", b"application/grpc")])
            self.conn.send_data(sid, b"\0" + len(payload).to_bytes(4, "big") + payload)
            self.conn.send_headers(sid, [(b"grpc-status", b"0")], end_stream=True)
        except h2.exceptions.StreamClosedError:
            return
        self.transport.write(self.conn.data_to_send())


def serve_h2(port: int) -> None:
    async def main() -> None:
        await asyncio.get_running_loop().create_server(H2Protocol, "127.0.0.1", port, backlog=2048)
        await asyncio.Event().wait()

    _run(main())


def inprocess(calls: int = 60000, batch: int = 32) -> float:
    """CPU µs per unary call of the GrpcConnection in this process's ``mlready.runtime``, fed client bytes
    (one SETTINGS with large windows, then HEADERS + DATA per call, ``batch`` calls per read)."""
    import struct

    import hpack
    from mlready.runtime import grpc_transport as gt
    from mlready.runtime.grpc_wire import (
        DATA,
        END_HEADERS,
        END_STREAM,
        HEADERS,
        PREFACE,
        SETTINGS,
        U32,
        frame,
    )
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

    class Sink:
        def write(self, data) -> None:
            pass

        def is_closing(self) -> bool:
            return False

        def pause_reading(self) -> None:
            pass

        resume_reading = close = pause_reading

    async def handler(request, call):
        return await _answer(request)

    async def main() -> float:
        server = gt.GrpcServer({"/m": (pb.ModelInferRequest.FromString, handler)}, max_message_bytes=16 << 20)
        conn = gt.GrpcConnection(server)
        conn.connection_made(Sink())
        conn.data_received(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 1 << 30))
                           + frame(8, 0, 0, U32.pack((1 << 31) - 1 - 65535)))
        req = pb.ModelInferRequest(model_name="mlp")
        req.inputs.add(name="input", datatype="FP32", shape=[1, 64])
        req.raw_input_contents.append(b"\0" * 256)
        msg = req.SerializeToString()
        body = b"\0" + struct.pack(">I", len(msg)) + msg
        encoder, sid, chunks = hpack.Encoder(), 1, []
        for _ in range(calls // batch):
            parts = []
            for _ in range(batch):
                block = encoder.encode([(b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/m"),
                                        (b":authority", b"x"), (b"content-type", b"application/grpc"),
                                        (b"te", b"trailers")])
                parts.append(frame(HEADERS, END_HEADERS, sid, block) + frame(DATA, END_STREAM, sid, body))
                sid += 2
            chunks.append(b"".join(parts))
        t0 = time.process_time()
        for chunk in chunks:
            conn.data_received(chunk)
            while conn.tasks:
                await asyncio.sleep(0)
        return (time.process_time() - t0) / (len(chunks) * batch) * 1e6

    return asyncio.run(main())


def _run(coro) -> None:
    import uvloop

    uvloop.run(coro)


# -- measuring ------------------------------------------------------------------------------------------------


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not listen")


def _median(results: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in results) for k in ("rps", "p50", "p99", "cpu_us")}


def _table(title: str, rows: list[tuple[str, list[dict]]]) -> None:
    print(f"\n{title}")
    print(f"  {'server':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/call':>13}  failed")
    for name, results in rows:
        m = _median(results)
        failed = sum(r["non2xx"] for r in results)
        print(f"  {name:<34}{m['rps']:>9.0f}{m['p50']:>9.2f}{m['p99']:>9.2f}{m['cpu_us']:>13.0f}  {failed}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--against", nargs="+", metavar="COMMIT",
                    help="also run the whole server of these commits against this tree's")
    ap.add_argument("--server-only", action="store_true", help="skip the transport-only comparison")
    ap.add_argument("--serve", nargs=2, metavar=("TRANSPORT", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        {"mlready": serve_mlready, "h2": serve_h2}[args.serve[0]](int(args.serve[1]))
        return 0
    bs = _bench_serving()
    import numpy as np

    work = Path(tempfile.mkdtemp(prefix="bench-grpc-"))
    procs: list[subprocess.Popen] = []
    try:
        body = work / "infer.grpc"
        body.write_bytes(bs.grpc_message(np.random.default_rng(0).random((1, 64)).astype(np.float32)))

        def launch(cmd: list[str], port: int, name: str, health: bool = False):
            proc = subprocess.Popen(cmd, stdout=(work / f"{len(procs)}.log").open("wb"), stderr=subprocess.STDOUT,
                                    start_new_session=True)
            procs.append(proc)
            _wait_port(port, proc)
            return bs.Server(name, proc, "", "")

        rows = []
        for transport in () if args.server_only else ("mlready", "h2"):
            port = bs.free_port()
            srv = launch([bs.PY, __file__, "--serve", transport, str(port)], port, transport)
            rows.append((f"{transport} transport", srv, port, []))
        rounds(bs, rows, body, work, args)
        if rows:
            _table(f"1. transport only (no model), h2load 32 connections, {args.rounds} x {args.duration:g}s",
                   [(name, results) for name, _s, _p, results in rows])
            a, b = (_median(r[3]) for r in rows)
            print(f"  (hand-written / h2 library: {a['rps'] / b['rps']:.2f}x req/s, "
                  f"{b['cpu_us'] / a['cpu_us']:.2f}x less CPU per call)")

        if args.against:
            repo = work / "repo"
            bs.models.write_version(repo, "mlp", 1, bs.models.mlp_model([64, 512, 512, 2]))
            rows = []
            purelib = sysconfig.get_paths()["purelib"]
            for commit in [*args.against, None]:
                name = f"mlready gRPC @ {commit[:8]}" if commit else "mlready gRPC (this tree)"
                http, grpc = bs.free_port(), bs.free_port()
                cfg = work / f"{grpc}.json"
                cfg.write_text(json.dumps({"model_repository": str(repo), "host": "127.0.0.1", "http_port": http,
                                           "grpc_port": grpc, "poll_interval_s": 0, "log_level": "warning"}))
                if commit:  # plain source on sys.path, without the editable install's finder (-S)
                    old = work / commit
                    (old / "mlready").mkdir(parents=True)
                    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "runtime"],
                                             capture_output=True, check=True).stdout
                    subprocess.run(["tar", "-x", "-C", str(old / "mlready")], input=archive, check=True)
                    code = (f"import sys, runpy; sys.path[:0] = [{str(old)!r}]; sys.path.append({purelib!r}); "
                            f"sys.argv = ['mlready.runtime', '--config', {str(cfg)!r}]; "
                            "runpy.run_module('mlready.runtime', run_name='__main__')")
                    cmd = [bs.PY, "-S", "-c", code]
                else:
                    cmd = [bs.PY, "-m", "mlready.runtime", "--config", str(cfg)]
                srv = launch(cmd, grpc, name)
                rows.append((name, srv, grpc, []))
            time.sleep(3)  # models loaded and warmed
            rounds(bs, rows, body, work, args)
            _table(f"2. the whole server on the MLP 64->512->512->2, h2load 32 connections, {args.rounds} x "
                   f"{args.duration:g}s", [(name, results) for name, _s, _p, results in rows])
            base = _median(rows[0][3])
            for name, _s, _p, results in rows[1:]:
                print(f"  ({name} / {rows[0][0]}: {_median(results)['rps'] / base['rps']:.2f}x req/s)")
            print("\n   transport in-process, CPU µs per call (3 runs each, alternating):")
            runs: dict[str, list[float]] = {}
            for _ in range(3):
                for commit in [*args.against, None]:
                    paths = [str(work / commit), purelib, str(HERE)] if commit else [str(HERE)]
                    code = (f"import sys; sys.path[:0] = {paths!r}; import bench_grpc_transport as b; "
                            "print(b.inprocess())")
                    out = subprocess.run([bs.PY, *(["-S"] if commit else []), "-c", code], capture_output=True,
                                         text=True, check=True).stdout
                    runs.setdefault(commit or "this tree", []).append(float(out))
            for name, values in runs.items():
                print(f"  {name:<34}{statistics.median(values):>8.2f}  ({', '.join(f'{v:.2f}' for v in values)})")
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def rounds(bs, rows, body: Path, work: Path, args) -> None:
    for _ in range(args.rounds):
        for _name, srv, port, results in rows:
            results.append(bs.h2load(srv, port, body, 32, args.duration, work / "h2load.log"))


if __name__ == "__main__":
    sys.exit(main())
