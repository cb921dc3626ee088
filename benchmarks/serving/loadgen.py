"""A closed-loop Python load generator for REST (raw HTTP/1.1 keep-alive) and gRPC (grpc.aio), same loop for both.

    python loadgen.py --proto grpc|rest --target 127.0.0.1:8081 --model mlp --concurrency 32 --duration 8
Prints one JSON line: requests, errors, rps, p50_ms, p99_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import numpy as np


async def rest_worker(host: str, port: int, path: str, body: bytes, stop: float, lat: list, errors: list) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    request = head + body
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        writer.write(request)
        status = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        if b" 200 " not in status:
            errors.append(status)
        lat.append(time.perf_counter() - t0)
    writer.close()


async def grpc_worker(stub, request, stop: float, lat: list, errors: list) -> None:
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        try:
            await stub.ModelInfer(request)
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        lat.append(time.perf_counter() - t0)


async def main(args: argparse.Namespace) -> dict:
    host, port = args.target.rsplit(":", 1)
    x = np.random.default_rng(0).random((1, args.features)).astype(np.float32)
    lat: list[float] = []
    errors: list = []
    channel = None
    if args.proto == "grpc":
        import grpc
        from mlready.runtime.proto import grpc_predict_v2_pb2 as pb
        from mlready.runtime.proto import grpc_predict_v2_pb2_grpc as pb_grpc

        channel = grpc.aio.insecure_channel(args.target)
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        request = pb.ModelInferRequest(model_name=args.model)
        request.inputs.add(name=args.input, datatype="FP32", shape=[1, args.features])
        request.raw_input_contents.append(x.tobytes())
        await stub.ModelInfer(request)  # connect
        start = time.perf_counter()
        stop = start + args.duration
        await asyncio.gather(*[grpc_worker(stub, request, stop, lat, errors) for _ in range(args.concurrency)])
    else:
        body = json.dumps({"instances": x.round(4).tolist()}).encode()
        start = time.perf_counter()
        stop = start + args.duration
        await asyncio.gather(*[rest_worker(host, int(port), f"/v1/models/{args.model}:predict", body, stop, lat,
                                           errors) for _ in range(args.concurrency)])
    elapsed = time.perf_counter() - start
    if channel is not None:
        await channel.close()
    arr = np.array(lat) * 1000
    return {"proto": args.proto, "requests": len(lat), "errors": len(errors), "rps": len(lat) / elapsed,
            "p50_ms": float(np.percentile(arr, 50)), "p99_ms": float(np.percentile(arr, 99))}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--proto", choices=["rest", "grpc"], required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--model", default="mlp")
    p.add_argument("--input", default="input")
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=8)
    a = p.parse_args()
    try:
        import uvloop

        result = uvloop.run(main(a))
    except ImportError:
        result = asyncio.run(main(a))
    print(json.dumps(result))
