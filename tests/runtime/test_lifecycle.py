"""Hot reload under load, failed versions, version policy, SIGTERM drain, auth and cloud routes."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.server


def _hammer(url: str, body: dict, stop: threading.Event, results: list, workers: int = 4) -> list[threading.Thread]:
    def loop() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                try:
                    r = client.post(url, json=body)
                    results.append((r.status_code, r.json().get("model_version") or r.text[:200]))
                except httpx.HTTPError as exc:
                    results.append((0, repr(exc)))

    threads = [threading.Thread(target=loop) for _ in range(workers)]
    for t in threads:
        t.start()
    return threads


def _infer_request(model: str, x: np.ndarray, input_name: str = "input") -> object:
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

    req = pb.ModelInferRequest(model_name=model)
    req.inputs.add(name=input_name, datatype="FP32", shape=list(x.shape))
    req.raw_input_contents.append(x.tobytes())
    return req


def _infer_stub(channel: grpc.Channel):
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

    return channel.unary_unary("/inference.GRPCInferenceService/ModelInfer",
                               request_serializer=pb.ModelInferRequest.SerializeToString,
                               response_deserializer=pb.ModelInferResponse.FromString)


def _wait(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def _versions(url: str, model: str) -> dict[str, str]:
    status = httpx.get(f"{url}/v1/models/{model}").json()["model_version_status"]
    return {s["version"]: s["state"] for s in status}


def test_hot_reload_under_load_zero_failures(tmp_path, launch, mk):
    repo = tmp_path / "repo"
    mk.write_version(repo, "m", 1, mk.mlp_model([16, 256, 256, 4], seed=1))
    server = launch(repo)
    try:
        body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 16], "data": [0.5] * 16}]}
        results: list = []
        stop = threading.Event()
        threads = _hammer(f"{server.url}/v2/models/m/infer", body, stop, results)
        _wait(lambda: len(results) > 50)
        mk.write_version(repo, "m", 2, mk.mlp_model([16, 256, 256, 4], seed=2))
        _wait(lambda: _versions(server.url, "m").get("1") == "END" and any(v == "2" for _, v in results[-5:]))
        # a broken version 3 is reported and never replaces version 2
        broken = repo / "m" / "3"
        broken.mkdir()
        (broken / "model.onnx").write_bytes(b"not an onnx model")
        _wait(lambda: _versions(server.url, "m").get("3") == "FAILED")
        n = len(results)
        _wait(lambda: len(results) > n + 50)
        mk.write_version(repo, "m", 4, mk.mlp_model([16, 256, 256, 4], seed=4))
        _wait(lambda: _versions(server.url, "m").get("2") == "END" and any(v == "4" for _, v in results[-5:]))
        stop.set()
        for t in threads:
            t.join()
    finally:
        server.stop()
    failures = [r for r in results if r[0] != 200]
    assert not failures, failures[:5]
    seen = [v for _, v in results]
    assert {"1", "2", "4"} <= set(seen) and "3" not in seen
    assert seen.index("4") > max(i for i, v in enumerate(seen) if v == "1")
    assert "model version failed to load" in server.logs()


def test_version_policy_all_and_labels(tmp_path, launch, mk):
    repo = tmp_path / "repo"
    for v in (1, 2, 3):
        mk.write_version(repo, "h", v, mk.half_plus_two())
    server = launch(repo, models={"h": {"version_policy": {"policy": "specific", "versions": [1, 3]},
                                                        "labels": {"stable": 1, "canary": 3}}})
    try:
        assert _versions(server.url, "h") == {"3": "AVAILABLE", "1": "AVAILABLE"}
        r = httpx.post(f"{server.url}/v1/models/h/labels/canary:predict", json={"instances": [2.0]})
        assert r.json() == {"predictions": [3.0]}
        assert httpx.post(f"{server.url}/v1/models/h/versions/2:predict", json={"instances": [2.0]}).status_code == 404
        meta = httpx.get(f"{server.url}/v2/models/h").json()
        assert meta["versions"] == ["1", "3"]
    finally:
        server.stop()


def test_sigterm_drains_in_flight_requests(tmp_path, launch, mk):
    repo = tmp_path / "repo"
    mk.write_version(repo, "big", 1, mk.mlp_model([512, 2048, 2048, 2048, 2], seed=3))
    # A long batching window keeps every request queued inside the server when SIGTERM arrives.
    server = launch(repo, drain_seconds=20, default_model={
        "batching": {"enabled": True, "max_batch_size": 4096, "max_queue_delay_ms": 1500}})
    x = np.random.default_rng(0).random((64, 512)).round(3).astype(np.float32)
    body = json.dumps({"instances": x.tolist()}).encode()
    n = 4  # REST calls, and as many gRPC calls

    def call(_: int) -> int | str:
        try:
            return httpx.post(f"{server.url}/v1/models/big:predict", content=body, timeout=60).status_code
        except httpx.HTTPError as exc:
            return repr(exc)

    def call_grpc(_: int) -> int | str:
        try:
            with grpc.insecure_channel(server.grpc) as channel:
                resp = _infer_stub(channel)(_infer_request("big", x), timeout=60)
            return 200 if list(resp.outputs[0].shape) == [64, 2] else str(resp)
        except grpc.RpcError as exc:
            return repr(exc)

    def inflight(protocol: str) -> float:
        text = httpx.get(f"{server.url}/metrics").text
        line = [x for x in text.splitlines() if x.startswith(f'mlready_inflight_requests{{protocol="{protocol}"}}')]
        return float(line[0].split()[-1]) if line else 0.0

    with ThreadPoolExecutor(2 * n) as pool:
        futures = [pool.submit(call, i) for i in range(n)] + [pool.submit(call_grpc, i) for i in range(n)]
        _wait(lambda: inflight("tfserving") >= n and inflight("v2-grpc") >= n)  # all inside the server, queued
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        codes = [f.result() for f in futures]
    rc = server.proc.wait(30)
    assert codes == [200] * (2 * n), codes
    assert rc == 0 and time.monotonic() - t0 < 20
    assert "draining" in server.logs()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{server.url}/v2/health/live", timeout=1)


def test_auth_and_cloud_routes(tmp_path, launch, mk):
    repo = tmp_path / "repo"
    mk.write_version(repo, "h", 1, mk.half_plus_two())
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    env = {"AIP_HTTP_PORT": "", "AIP_HEALTH_ROUTE": "/vertex/health", "AIP_PREDICT_ROUTE": "/vertex/predict"}
    server = launch(repo, env=env, auth={"token_file": str(token_file)},
                          cloud={"azure_route": "/score"})
    auth = {"authorization": "Bearer s3cret"}
    try:
        url = server.url
        assert httpx.get(f"{url}/v2/health/ready").status_code == 200  # open health
        assert httpx.get(f"{url}/metrics").status_code == 200
        r = httpx.post(f"{url}/v1/models/h:predict", json={"instances": [1.0]})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert httpx.post(f"{url}/v1/models/h:predict", json={"instances": [1.0]},
                          headers={"authorization": "Bearer wrong"}).status_code == 401
        assert httpx.post(f"{url}/v1/models/h:predict", json={"instances": [1.0]}, headers=auth).status_code == 200
        # SageMaker
        assert httpx.get(f"{url}/ping").status_code == 200
        r = httpx.post(f"{url}/invocations", content=b"1.0\n2.0\n", headers={**auth, "content-type": "text/csv"})
        assert r.status_code == 400  # CSV rows are 2-D, this model takes a vector: a client mistake
        r = httpx.post(f"{url}/invocations", json={"instances": [1.0, 2.0]}, headers=auth)
        assert r.json() == {"predictions": [2.5, 3.0]}
        # Vertex AI
        assert httpx.get(f"{url}/vertex/health").status_code == 200
        r = httpx.post(f"{url}/vertex/predict", json={"instances": [4.0], "parameters": {}}, headers=auth)
        assert r.json() == {"predictions": [4.0]}
        # Azure ML
        r = httpx.post(f"{url}/score", json={"data": [0.0]}, headers=auth)
        assert r.json() == {"predictions": [2.0]}
        # gRPC needs the token too
        import tritonclient.grpc as tg
        from tritonclient.utils import InferenceServerException

        client = tg.InferenceServerClient(server.grpc)
        inp = tg.InferInput("x", [1], "FP32")
        inp.set_data_from_numpy(np.array([2.0], np.float32))
        with pytest.raises(InferenceServerException, match="bearer"):
            client.infer("h", [inp])
        assert client.infer("h", [inp], headers=auth).as_numpy("y").tolist() == [3.0]
    finally:
        server.stop()


def test_ready_only_after_load(tmp_path, launch, mk):
    repo = tmp_path / "repo"
    repo.mkdir()
    server = launch(repo, ready=False, models={"later": {}})
    try:
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 503
        tmp = tmp_path / "stage"
        mk.write_version(tmp, "later", 1, mk.half_plus_two())
        shutil.move(str(tmp / "later"), str(repo / "later"))
        _wait(lambda: httpx.get(f"{server.url}/v2/health/ready").status_code == 200)
    finally:
        server.stop()



def test_mlready_serve_command_serves_a_repository(tmp_path, mk):
    import socket
    import subprocess
    import sys

    repo = tmp_path / "repo"
    mk.write_version(repo, "h", 1, mk.half_plus_two())
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-m", "mlready.engine", "serve", "--model-repository", str(repo),
                             "--http-port", str(ports[0]), "--grpc-port", str(ports[1])],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{ports[0]}"
        _wait(lambda: _ok(f"{url}/v2/health/ready"))
        assert httpx.post(f"{url}/v1/models/h:predict", json={"instances": [2.0]}).json() == {"predictions": [3.0]}
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 0, out
    assert "serving" in out and "stopped" in out


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_workers_share_the_ports_and_aggregate_metrics(tmp_path, launch, mk):
    import socket

    repo = tmp_path / "repo"
    mk.write_version(repo, "h", 1, mk.half_plus_two())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    server = launch(repo, workers=2, metrics_port=metrics_port)
    for _ in range(20):  # a new connection each: the kernel spreads them over the workers (SO_REUSEPORT)
        assert httpx.post(f"{server.url}/v1/models/h:predict", json={"instances": [0.0]}).status_code == 200
    for _ in range(20):  # gRPC too: a channel (a connection) each
        with grpc.insecure_channel(server.grpc) as channel:
            resp = _infer_stub(channel)(_infer_request("h", np.zeros(1, np.float32), "x"), timeout=30)
            assert np.frombuffer(resp.raw_output_contents[0], np.float32).tolist() == [2.0]
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    for protocol in ("tfserving", "v2-grpc"):
        line = next(x for x in text.splitlines() if x.startswith("mlready_requests_total{") and 'status="200"' in x
                    and f'protocol="{protocol}"' in x)
        assert float(line.split()[-1]) == 20.0, text[:2000]
    assert server.stop() == 0
