"""Serving benchmark: MLflow vs bare handlers vs mlready, gRPC vs REST, batching on vs off.

    .venv/bin/python benchmarks/bench_serving.py [--duration 6] [--rounds 5] [--skip-mlflow]

Everything runs side by side in one invocation on 127.0.0.1: servers are started once, then measured in
alternating rounds (the machine is shared and noisy); medians across rounds are printed, with ratios against
the issue's goals. Needs ``wrk`` and ``h2load`` (tools/install-system-deps.sh). Nothing here is a hard-coded figure.

0. The quickstart's small MLP (examples/quickstart/model.joblib as ONNX), ``wrk`` with 32 connections, batch-1
   JSON: the bare handler on uvicorn (benchmarks/serving/bare.py, ASGI) and on granian
   (benchmarks/serving/bare_rsgi.py, RSGI), and mlready with validation, metrics, batching and auth on.
1. A 64->512->512->2 MLP, the same load: (a) ``mlflow models serve`` (onnx flavor, ``--env-manager local``),
   (b) both bare handlers, (c) mlready (and, for reference, with batching off, and with 2 workers).
2. mlready gRPC vs REST on the same model, both driven by C load generators (``wrk`` for HTTP/1.1, nghttp2's
   ``h2load`` for gRPC over HTTP/2), with a bare grpcio (grpc.aio) handler for reference.
3. A compute-heavy MLP (512 -> 4 x 2048 -> 2), 64 connections: mlready batching on vs off.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "serving"))

import models  # noqa: E402  (benchmarks/serving/models.py)

PY = sys.executable
CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- process tree accounting -----------------------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    pids, frontier = [pid], [pid]
    while frontier:
        p = frontier.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for c in children:
            pids.append(int(c))
            frontier.append(int(c))
    return pids


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK
        except (OSError, IndexError):
            pass
    return total


def peak_rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    url: str  # base URL
    predict: str  # predict path
    peak_mb: float = 0.0
    results: list[dict] = field(default_factory=list)

    def stop(self) -> None:
        self.peak_mb = max(self.peak_mb, peak_rss_mb(self.proc.pid))
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def start(name: str, cmd: list[str], url: str, health: str, predict: str, log: Path, env: dict | None = None,
          timeout: float = 120) -> Server:
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited ({proc.returncode}); see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url + health, headers=AUTH), timeout=1) as r:
                if r.status == 200:
                    return Server(name, proc, url, predict)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{name} did not become healthy; see {log}")


# -- wrk -----------------------------------------------------------------------------------------------------

TOKEN = "bench-token"  # mlready runs with auth on; every server gets the same header (same bytes on the wire)
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")
local f = io.open(os.getenv("WRK_BODY"), "r")
wrk.body = f:read("*a")
f:close()
"""


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]


def wrk(server: Server, body: Path, lua: Path, connections: int, duration: float) -> dict:
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    proc = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
                           "--latency", "-s", str(lua), server.url + server.predict], capture_output=True, text=True,
                          env={**os.environ, "WRK_BODY": str(body), "WRK_TOKEN": TOKEN}, timeout=duration + 60)
    out = proc.stdout
    if "Requests/sec" not in out:
        raise SystemExit(f"wrk failed against {server.name}:\n{out}\n{proc.stderr}")
    wall = time.monotonic() - t0
    spent = cpu_seconds(server.proc.pid) - cpu0
    cpu = spent / wall * 100
    server.peak_mb = max(server.peak_mb, peak_rss_mb(server.proc.pid))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    done = re.search(r"(\d+) requests in", out)
    cpu_us = spent / max(int(done.group(1)), 1) * 1e6 if done else float("nan")
    result = {"rps": rps, "p50": _ms(lat.get("50", "")), "p99": _ms(lat.get("99", "")), "cpu": cpu, "cpu_us": cpu_us,
              "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}
    server.results.append(result)
    return result


def grpc_message(x) -> bytes:
    """A length-prefixed ModelInferRequest for ``x`` (raw_input_contents, as tritonclient sends it)."""
    import struct

    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

    req = pb.ModelInferRequest(model_name="mlp")
    req.inputs.add(name="input", datatype="FP32", shape=list(x.shape))
    req.raw_input_contents.append(x.tobytes())
    data = req.SerializeToString()
    return b"\0" + struct.pack(">I", len(data)) + data


def check_grpc(port: int, timeout: float) -> None:
    """One real call through grpcio's client: the server answers, with the right shape."""
    import grpc
    import numpy as np
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb
    from mlready.runtime.proto import grpc_predict_v2_pb2_grpc as pb_grpc

    req = pb.ModelInferRequest.FromString(grpc_message(np.zeros((1, 64), np.float32))[5:])
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        while True:
            try:
                resp = pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(
                    req, timeout=5, metadata=[("authorization", f"Bearer {TOKEN}")])
                break
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
    assert list(resp.outputs[0].shape) == [1, 2], resp


def grpc_errors(server: Server) -> float:
    """gRPC calls mlready answered with a status other than OK (h2load only sees HTTP :status 200); calls the
    client cancelled (499: h2load closing its connections at the end of a run) are not failures."""
    with urllib.request.urlopen(urllib.request.Request(server.url + "/metrics", headers=AUTH), timeout=10) as r:
        text = r.read().decode()
    return sum(float(v) for v in re.findall(r'^mlready_requests_total\{[^}]*protocol="v2-grpc"[^}]*status="(?!200"|499")'
                                               r'[^"]*"[^}]*\} (\S+)', text, re.M))


def h2load(server: Server, port: int, body: Path, connections: int, duration: float, log: Path) -> dict:
    """gRPC unary calls with nghttp2's h2load (a C load generator, like wrk), one call in flight per connection."""
    log.unlink(missing_ok=True)  # h2load appends to its log file
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    proc = subprocess.run(["h2load", "-n", "0", "-D", str(max(1, round(duration))), "-c", str(connections), "-m", "1",
                           "-t", "1", "-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers",
                           "-H", f"authorization: Bearer {TOKEN}",
                           "--log-file", str(log), f"http://127.0.0.1:{port}/inference.GRPCInferenceService/ModelInfer"],
                          capture_output=True, text=True, timeout=duration + 60)
    out = proc.stdout
    m = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out)
    counts = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored",
                       out)
    if not m or not counts:
        raise SystemExit(f"h2load failed against {server.name}:\n{out}\n{proc.stderr}")
    spent = cpu_seconds(server.proc.pid) - cpu0
    lat = sorted(int(line.split("\t")[2]) / 1000 for line in log.read_text().splitlines() if line.count("\t") == 2)
    done = int(counts.group(2))
    return {"rps": float(m.group(1)), "p50": lat[len(lat) // 2] if lat else float("nan"),
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan"),
            "cpu": spent / (time.monotonic() - t0) * 100, "cpu_us": spent / max(done, 1) * 1e6,
            "non2xx": int(counts.group(4)) + int(counts.group(5)), "socket_errors": ""}


def summary(server: Server) -> dict:
    rs = server.results
    return {"rps": statistics.median(r["rps"] for r in rs), "p50": statistics.median(r["p50"] for r in rs),
            "p99": statistics.median(r["p99"] for r in rs), "cpu": statistics.median(r["cpu"] for r in rs),
            "cpu_us": statistics.median(r["cpu_us"] for r in rs),
            "rss": server.peak_mb, "non2xx": sum(r["non2xx"] for r in rs),
            "errors": "; ".join(r["socket_errors"] for r in rs if r["socket_errors"])}


def table(rows: list[tuple[str, dict]]) -> None:
    print(f"  {'server':<28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU %':>8}{'CPU us/req':>12}{'peak RSS MB':>13}"
          "  errors")
    for name, s in rows:
        err = f"{s['non2xx']} non-2xx" + (f"; socket: {s['errors']}" if s["errors"] else "")
        print(f"  {name:<28}{s['rps']:>10.0f}{s['p50']:>9.2f}{s['p99']:>9.2f}{s['cpu']:>8.0f}{s['cpu_us']:>12.0f}"
              f"{s['rss']:>13.0f}  {err}")


def goal(label: str, ok: bool, detail: str) -> None:
    print(f"  [{'met ' if ok else 'MISS'}] {label}: {detail}")


# -- setup ---------------------------------------------------------------------------------------------------


def mlready_server(work: Path, name: str, repo: Path, batching: bool, http: int, grpc: int, workers: int = 1,
                   pythonpath: str | None = None, model: dict | None = None, settings: dict | None = None) -> Server:
    """``model``: more settings of the repository's model (``models.<name>``, e.g. its drift reference);
    ``settings``: more top-level runtime settings (e.g. ``capture``)."""
    served = next(p.name for p in repo.iterdir())
    default = {"batching": {"enabled": batching, "max_batch_size": 64}}
    cfg = {"model_repository": str(repo), "host": "127.0.0.1", "http_port": http, "grpc_port": grpc,
           "poll_interval_s": 0, "log_level": "warning", "workers": workers, "default_model": default,
           "models": {served: {**default, **model}} if model else {},
           "auth": {"token_env": "MLREADY_BENCH_TOKEN", "open_health": True, "open_metrics": False},
           **(settings or {})}
    path = work / f"{name}.json"
    path.write_text(json.dumps(cfg))
    return start(name, [PY, "-m", "mlready.runtime", "--config", str(path)], f"http://127.0.0.1:{http}",
                 "/v2/health/ready", f"/v1/models/{served}:predict", work / f"{name}.log",
                 env={"MLREADY_BENCH_TOKEN": TOKEN, **({"PYTHONPATH": pythonpath} if pythonpath else {})})


def mlflow_server(work: Path, model_dir: Path) -> Server:
    """``mlflow models serve`` on a saved MLflow model (``--env-manager local``), scored on ``/invocations``."""
    port = free_port()
    env = {"PATH": f"{Path(PY).parent}:{os.environ.get('PATH', '')}", "MLFLOW_TRACKING_URI": (work / "mlruns").as_uri()}
    return start("mlflow models serve", [str(Path(PY).parent / "mlflow"), "models", "serve", "-m", str(model_dir),
                                         "-p", str(port), "-h", "127.0.0.1", "--env-manager", "local"],
                 f"http://127.0.0.1:{port}", "/ping", "/invocations", work / "mlflow.log", env=env)


def bare_servers(work: Path, model_file: Path) -> list[Server]:
    """The two ceilings on ``model_file``: the bare handler on uvicorn (ASGI) and on granian (RSGI)."""
    out = []
    for name, script in (("bare ASGI (uvicorn)", "bare.py"), ("bare RSGI (granian)", "bare_rsgi.py")):
        port = free_port()
        out.append(start(name, [PY, str(HERE / "serving" / script), str(model_file), str(port)],
                         f"http://127.0.0.1:{port}", "/", "/", work / f"{script}-{model_file.stem}.log"))
    return out


def measure(group: list[Server], body: Path | list[Path], lua: Path, connections: int, args: Any) -> dict:
    """``args.rounds`` alternating wrk rounds over ``group`` (one ``body`` for all, or one per server); prints the
    table, returns the rows by name."""
    bodies = body if isinstance(body, list) else [body] * len(group)
    for _ in range(args.rounds):
        for s, b in zip(group, bodies, strict=True):
            wrk(s, b, lua, connections, args.duration)
    rows = [(s.name, summary(s)) for s in group]
    table(rows)
    return dict(rows)


def baseline_goal(group: list[Server], by: dict) -> None:
    servers = {s.name: s for s in group}
    if "mlready (baseline)" in servers:
        ratio = statistics.median(paired(servers["mlready (baseline)"], servers["mlready"]))
        medians = by["mlready"]["rps"] / by["mlready (baseline)"]["rps"]
        goal("no slower than the baseline (>= 95% of its req/s, median of the rounds)", ratio >= 0.95,
             f"{ratio * 100:.0f}% (ratio of the medians {medians * 100:.0f}%)")


def paired(base: Server, other: Server, key: str = "rps") -> list[float]:
    """``other``'s figure over ``base``'s, round by round: the two ran seconds apart, so a drift of the shared
    machine's speed between rounds cancels out of each ratio (it does not from a ratio of the two medians)."""
    return [o[key] / b[key] for b, o in zip(base.results, other.results, strict=True)]


def round_ratios(group: list[Server], name: str, reference: str) -> None:
    """Print ``name``'s req/s over ``reference``'s round by round: how far one run's ratio moves with the
    machine (the ceiling goals below are judged on the median of these)."""
    by = {s.name: s for s in group}
    print(f"  {name} / {reference}, round by round: "
          f"{', '.join(f'{r:.0%}' for r in paired(by[reference], by[name]))}")


def ceiling_goals(group: list[Server], by: dict, p99_ms: float) -> None:
    """mlready against the bare handlers, judged like the capture and drift goals: on the median of the rounds'
    ratios (each pair ran seconds apart, so a change of the shared machine's speed between rounds cancels out;
    on this 2-core machine two runs of the same handler differ by up to 15% from one round to the next). The
    ratio of the medians is printed beside it."""
    servers = {s.name: s for s in group}
    m = by["mlready"]
    for bare in ("bare RSGI (granian)", "bare ASGI (uvicorn)"):
        ratio = statistics.median(paired(servers[bare], servers["mlready"]))
        goal(f">= 85% of the {bare} handler's req/s (median of the rounds)", ratio >= 0.85,
             f"{ratio * 100:.0f}% (ratio of the medians {m['rps'] / by[bare]['rps'] * 100:.0f}%)")
    goal(f"p99 <= {p99_ms:g} ms", m["p99"] <= p99_ms, f"{m['p99']:.2f} ms")


def drift_in_process(drift: dict, X: Any) -> None:
    """The drift counter alone, in this process, on random rows of X: what one request costs (its ``observe``
    plus its share of the pending batches' binning), steadier than a req/s ratio on a shared machine."""
    import numpy as np
    from mlready.runtime.config import RuntimeConfig
    from mlready.runtime.drift import FLUSH_ROWS, DriftCounter

    ref = RuntimeConfig.from_dict({"model_repository": "/", "models": {"m": {"drift": drift}}}).models["m"].drift
    rng = np.random.default_rng(0)
    for rows in (1, 32):
        n = 4 * FLUSH_ROWS // rows  # four flushes' worth
        batches = [(X[rng.integers(0, len(X), rows)], rng.integers(0, 2, rows), rng.random((rows, 2))) for _ in range(n)]
        counter = DriftCounter("m", ref, ["label", "probabilities"])
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for x, label, prob in batches:
                counter.observe({"X": x}, [label, prob])
            counter.snapshot()
            best = min(best, (time.perf_counter() - t0) / n)
        print(f"  in-process: {best * 1e6:.2f} us per {rows}-row request (observe + its share of the binning, "
              f"best of 3 x {n} random batches)")


def drift_section(work: Path, repo: Path, X: Any, lua: Path, args: Any) -> int:
    """D. The cost of live drift counting: the same server with and without the model's drift reference."""
    import numpy as np
    import pandas as pd
    from mlready.generators._shared.psi_bins import reference_bins

    frame = pd.DataFrame(np.asarray(X, dtype=np.float64), columns=[f"f{i}" for i in range(X.shape[1])])
    features = [{"name": c, "input": "X", "index": i, **reference_bins(frame[c])} for i, c in enumerate(frame)]
    drift = {"features": features,
             "prediction": {"name": "prediction", "input": "label", "values": [0.0, 1.0], "shares": [0.4, 0.6, 0.0]}}
    print("\nD. live drift counting: the drift counter in-process (the quickstart's 30 features, 10 bins each)")
    drift_in_process(drift, X)
    servers = [mlready_server(work, "mlready (drift off)", repo, True, free_port(), free_port()),
               mlready_server(work, "mlready (drift on)", repo, True, free_port(), free_port(),
                              model={"drift": drift})]
    try:
        for rows in (1, 32):
            body = work / f"drift-{rows}.json"
            body.write_text(json.dumps({"instances": np.asarray(X[:rows]).tolist()}))
            print(f"\nD. live drift counting off vs on: the quickstart's MLP ({X.shape[1]} features, 10 bins each, "
                  f"+ the predicted class), wrk 32 connections, {rows}-row JSON, {args.rounds} x "
                  f"{args.duration:.0f}s alternating")
            for s in servers:
                s.results.clear()
            by = measure(servers, body, lua, 32, args)
            on, off = by["mlready (drift on)"], by["mlready (drift off)"]
            # each round runs drift on right after drift off: the median of the rounds' ratios, which a drift of
            # the shared machine's speed between rounds does not move (the ratio of the medians is printed too)
            rps, cpus = paired(servers[0], servers[1]), paired(servers[0], servers[1], "cpu_us")
            print(f"  drift on / off, round by round: req/s {', '.join(f'{r:.1%}' for r in rps)}; CPU a request "
                  f"{', '.join(f'{c:.1%}' for c in cpus)}; ratio of the medians {on['rps'] / off['rps']:.1%}")
            ratio = statistics.median(rps)
            goal("drift counting costs <= 5% of throughput (>= 95% of the req/s without it; median of the rounds)",
                 ratio >= 0.95, f"{ratio * 100:.1f}%")
            # on a shared machine the two servers do not get the same CPU: the server's CPU per request is the
            # steadier measure of what counting adds
            cpu = statistics.median(cpus)
            goal("drift counting adds <= 5% server CPU per request (median of the rounds)", cpu <= 1.05,
                 f"{(cpu - 1) * 100:+.1f}%")
        with urllib.request.urlopen(urllib.request.Request(servers[1].url + "/metrics", headers=AUTH),
                                    timeout=10) as r:
            counted = sum(float(v) for v in re.findall(r'^mlready_drift_rows_total\{[^}]*feature="f0"[^}]*\} (\S+)',
                                                       r.read().decode(), re.M))
        print(f"  (rows the drift-on server counted for feature f0: {counted:.0f})")
    finally:
        for s in servers:
            s.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=6.0, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds per comparison")
    ap.add_argument("--skip-mlflow", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--baseline", metavar="DIR",
                    help="also run an earlier mlready.runtime, found at DIR/mlready/runtime, as 'mlready (baseline)' "
                         "rows in 0 and 1 (e.g. a `git archive <commit> runtime` unpacked under DIR/mlready/)")
    ap.add_argument("--candidate", metavar="DIR",
                    help="run the 'mlready' rows of 0 from DIR/mlready/runtime (laid out as for --baseline) instead "
                         "of the installed runtime: an A/B of two snapshots while others edit the working tree")
    ap.add_argument("--only-small", action="store_true", help="run section 0 only (quick comparisons)")
    ap.add_argument("--drift", action="store_true",
                    help="run section D only: live drift counting off vs on (the quickstart's MLP, its 30 features "
                         "binned against the training reference as the build bakes it)")
    args = ap.parse_args()
    missing = [tool for tool in ("wrk", "h2load") if shutil.which(tool) is None]
    if missing:
        print(f"{' and '.join(missing)} missing: run tools/install-system-deps.sh (apt-get install wrk "
              "nghttp2-client)", file=sys.stderr)
        return 2
    import numpy as np

    work = Path(tempfile.mkdtemp(prefix="mlready-bench-"))
    servers: list[Server] = []
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; work dir {work}")
        mlp = models.mlp_model([64, 512, 512, 2])
        heavy = models.mlp_model([512, 2048, 2048, 2048, 2048, 2], seed=1)
        repo, heavy_repo = work / "repo", work / "heavy"
        models.write_version(repo, "mlp", 1, mlp)
        models.write_version(heavy_repo, "heavy", 1, heavy)
        (work / "mlp.onnx").write_bytes(mlp.SerializeToString())
        small, X = models.quickstart_mlp()
        small_repo = work / "small"
        models.write_version(small_repo, "quickstart", 1, small)
        (work / "quickstart.onnx").write_bytes(small.SerializeToString())
        lua = work / "post.lua"
        lua.write_text(LUA)
        rng = np.random.default_rng(0)
        body = work / "body.json"
        body.write_text(json.dumps({"instances": rng.random((1, 64)).round(4).tolist()}))
        heavy_body = work / "heavy.json"
        heavy_body.write_text(json.dumps({"instances": rng.random((1, 512)).round(4).tolist()}))
        small_body = work / "small.json"
        small_body.write_text(json.dumps({"instances": X[:1].tolist()}))

        if args.drift:
            return drift_section(work, small_repo, X, lua, args)

        # -- 0. the small model: the quickstart's MLP, where the HTTP front end is most of the cost ----------
        print(f"\n0. the quickstart's MLP (scaler + 30->64->32->2), wrk 32 connections, batch-1 JSON, "
              f"{args.rounds} x {args.duration:.0f}s alternating")
        group0 = bare_servers(work, work / "quickstart.onnx")
        group0.append(mlready_server(work, "mlready", small_repo, True, free_port(), free_port(),
                                     pythonpath=args.candidate))
        if args.baseline:
            group0.append(mlready_server(work, "mlready (baseline)", small_repo, True, free_port(), free_port(),
                                         pythonpath=args.baseline))
        servers += group0
        by = measure(group0, small_body, lua, 32, args)
        round_ratios(group0, "mlready", "bare RSGI (granian)")
        ceiling_goals(group0, by, 5)
        baseline_goal(group0, by)
        for s in group0:
            s.stop()
        if args.only_small:
            return 0

        # -- 1. MLflow vs bare vs mlready --------------------------------------------------------------
        print(f"\n1. {mlp.graph.name} 64->512->512->2, wrk 32 connections, batch-1 JSON, "
              f"{args.rounds} x {args.duration:.0f}s alternating")
        group: list[Server] = []
        if not args.skip_mlflow:
            import mlflow.onnx
            from mlflow.models import infer_signature

            x = rng.random((2, 64)).astype(np.float32)
            import onnxruntime as ort

            y = ort.InferenceSession(mlp.SerializeToString()).run(None, {"input": x})[0]
            mlflow.onnx.save_model(mlp, str(work / "mlflow_model"), signature=infer_signature(x, y))
            group.append(mlflow_server(work, work / "mlflow_model"))
        group += bare_servers(work, work / "mlp.onnx")
        mlr = mlready_server(work, "mlready", repo, True, free_port(), free_port())
        group.append(mlr)
        # for reference: the same server with batching off (every request is its own onnxruntime call)
        group.append(mlready_server(work, "mlready (batching off)", repo, False, free_port(), free_port()))
        # MLflow's server spreads over both cores (its onnxruntime session uses every core); so can mlready's
        group.append(mlready_server(work, "mlready (2 workers)", repo, True, free_port(), free_port(), workers=2))
        if args.baseline:
            group.append(mlready_server(work, "mlready (baseline)", repo, True, free_port(), free_port(),
                                        pythonpath=args.baseline))
        servers += group
        by = measure(group, body, lua, 32, args)
        m = by["mlready"]
        if "mlflow models serve" in by:
            ratio = m["rps"] / by["mlflow models serve"]["rps"]
            goal(">= 10x MLflow req/s", ratio >= 10, f"{ratio:.1f}x")
            ratio2 = by["mlready (2 workers)"]["rps"] / by["mlflow models serve"]["rps"]
            goal(">= 10x MLflow req/s, mlready with 2 workers", ratio2 >= 10, f"{ratio2:.1f}x")
            per_req = by["mlflow models serve"]["cpu_us"] / m["cpu_us"] if m.get("cpu_us") else 0
            print(f"  (server CPU per request: MLflow needs {per_req:.1f}x mlready's)")
        round_ratios(group, "mlready", "bare RSGI (granian)")
        ceiling_goals(group, by, 10)
        baseline_goal(group, by)

        # -- 2. gRPC vs REST (C load generators on both sides) ------------------------------------------
        print(f"\n2. mlready gRPC vs REST, 32 connections, batch-1, {args.rounds} x {args.duration:.0f}s alternating "
              "(REST: wrk; gRPC: h2load with the message tritonclient sends)")
        grpc_port = int(json.loads((work / "mlready.json").read_text())["grpc_port"])
        bare_port = free_port()
        bare_grpc = subprocess.Popen([PY, str(HERE / "serving" / "bare_grpc.py"), str(work / "mlp.onnx"),
                                      str(bare_port)], stdout=(work / "bare_grpc.log").open("wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        servers.append(Server("grpcio (bare grpc.aio)", bare_grpc, "", ""))
        grpc_body = work / "infer.grpc"
        grpc_body.write_bytes(grpc_message(rng.random((1, 64)).astype(np.float32)))
        v2_body = work / "v2.json"
        v2_body.write_text(json.dumps({"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32",
                                                   "data": rng.random(64).round(4).tolist()}]}))
        for port in (grpc_port, bare_port):
            check_grpc(port, 30)
        rest_tf = Server("REST, TF Serving JSON", mlr.proc, mlr.url, mlr.predict)
        rest_v2 = Server("REST, KServe v2 JSON", mlr.proc, mlr.url, "/v2/models/mlp/infer")
        grpc_rows = [("mlready gRPC", mlr, grpc_port, []), ("grpcio (bare grpc.aio)", servers[-1], bare_port, [])]
        errors0 = grpc_errors(mlr)
        for _ in range(args.rounds):
            wrk(rest_tf, body, lua, 32, args.duration)
            wrk(rest_v2, v2_body, lua, 32, args.duration)
            for _name, srv, port, results in grpc_rows:
                results.append(h2load(srv, port, grpc_body, 32, args.duration, work / "h2load.log"))
        rows = [(f"mlready {s.name}", summary(s)) for s in (rest_tf, rest_v2)]
        for name, srv, _port, results in grpc_rows:
            srv.peak_mb = max(srv.peak_mb, peak_rss_mb(srv.proc.pid))
            tmp = Server(name, srv.proc, "", "", srv.peak_mb, results)
            rows.append((name, summary(tmp)))
        table(rows)
        failed = grpc_errors(mlr) - errors0
        print(f"  (gRPC calls that did not end with status OK, from mlready's own metrics: {failed:.0f})")
        by = dict(rows)
        best_rest = max(by["mlready REST, TF Serving JSON"]["rps"], by["mlready REST, KServe v2 JSON"]["rps"])
        ratio = by["mlready gRPC"]["rps"] / best_rest
        goal("gRPC at least as fast as REST", ratio >= 1.0 and failed == 0,
             f"gRPC/REST = {ratio:.2f} (against the faster REST format)")
        ratio = by["mlready gRPC"]["rps"] / by["grpcio (bare grpc.aio)"]["rps"]
        print(f"  (mlready's gRPC with validation, metrics and batching: {ratio:.1f}x a bare grpcio handler)")
        for s in (*group, servers[-1]):
            s.stop()

        # -- 3. batching on vs off on a compute-heavy model ---------------------------------------------
        print(f"\n3. compute-heavy MLP 512->4x2048->2, wrk 64 connections, batch-1 JSON, {args.rounds} x "
              f"{args.duration:.0f}s alternating")
        on = mlready_server(work, "mlready batching on", heavy_repo, True, free_port(), free_port())
        off = mlready_server(work, "mlready batching off", heavy_repo, False, free_port(), free_port())
        servers += [on, off]
        by = measure([on, off], heavy_body, lua, 64, args)
        ratio = by[on.name]["rps"] / by[off.name]["rps"]
        goal("batching >= 2x the throughput of batching off", ratio >= 2, f"{ratio:.1f}x")
    finally:
        for s in servers:
            s.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
