"""Where a server's CPU per request goes, thread by thread: the quickstart MLP under wrk (32 connections, batch-1
JSON, auth on), then each thread's CPU seconds from /proc divided by the requests answered.

    .venv/bin/python benchmarks/bench_threads.py [--duration 5] SERVER...
SERVER: ``bare`` (benchmarks/serving/bare_rsgi.py in granian's worker process), ``bare-embed`` (the same handler
on granian's embedded server, as mlready runs it), ``mlready`` (the installed runtime) or ``NAME=DIR`` (mlready
from a runtime snapshot unpacked under DIR/mlready/runtime, as for bench_serving.py --baseline). The main thread
is the event loop; granian's hyper thread, the inference pool and onnxruntime's threads follow (Linux names
them all ``python``: they are listed by thread id, busiest first).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "serving"))

import bench_serving as bs  # noqa: E402
import models  # noqa: E402


def thread_cpu(pid: int) -> dict[tuple[int, int], float]:
    """CPU seconds of every thread of ``pid`` and its children, by (process id, thread id)."""
    out = {}
    for p in bs.tree(pid):
        try:
            tids = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for t in tids:
            try:
                fields = (t / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[(p, int(t.name))] = (int(fields[11]) + int(fields[12])) / bs.CLK
    return out


def start(spec: str, work: Path, repo: Path, model_file: Path) -> bs.Server:
    if spec in ("bare", "bare-embed"):
        port = bs.free_port()
        cmd = [bs.PY, str(HERE / "serving" / "bare_rsgi.py"), str(model_file), str(port)]
        return bs.start(spec, cmd + (["--embed"] if spec == "bare-embed" else []), f"http://127.0.0.1:{port}", "/",
                        "/", work / f"{spec}.log")
    name, _, path = spec.partition("=")
    return bs.mlready_server(work, name, repo, True, bs.free_port(), bs.free_port(), pythonpath=path or None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of measured load per server")
    ap.add_argument("servers", nargs="+", metavar="SERVER")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlready-threads-"))
    try:
        small, X = models.quickstart_mlp()
        repo = work / "small"
        models.write_version(repo, "quickstart", 1, small)
        model_file = work / "quickstart.onnx"
        model_file.write_bytes(small.SerializeToString())
        lua = work / "post.lua"
        lua.write_text(bs.LUA)
        body = work / "small.json"
        body.write_text(json.dumps({"instances": X[:1].tolist()}))
        for spec in args.servers:
            server = start(spec, work, repo, model_file)
            try:
                bs.wrk(server, body, lua, 32, 2)  # warm up
                before = thread_cpu(server.proc.pid)
                r = bs.wrk(server, body, lua, 32, args.duration)
                after = thread_cpu(server.proc.pid)
            finally:
                server.stop()
            requests = r["rps"] * max(1, round(args.duration))
            print(f"{spec}: {r['rps']:.0f} req/s, p99 {r['p99']:.1f} ms, server CPU {r['cpu_us']:.0f} us/req")
            spent = sorted(((after[k] - before.get(k, 0.0), k) for k in after), reverse=True)
            for seconds, (pid, tid) in spent:
                if seconds > 0:
                    role = "main thread (event loop)" if pid == tid else f"thread {tid}"
                    print(f"  {role:<28}{seconds / requests * 1e6:8.1f} us/req")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
