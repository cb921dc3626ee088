"""Smoke test of a built image: run it the way production does and check one real prediction.

The container runs as the image's numeric user with a read-only root filesystem, a tmpfs ``/tmp``, all
capabilities dropped and ``no-new-privileges``. Cold start is the time from asking the engine to run the
container to the first 200 from ``/v2/health/ready``. A prediction for rows of the evaluation data (KServe v2
REST) must match onnxruntime on the very model file in the build context.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from mlready.engine.actions.docker_engine import ImageError

V2_TO_NUMPY = {"FP32": np.float32, "FP64": np.float64, "FP16": np.float16, "INT64": np.int64, "INT32": np.int32,
               "INT8": np.int8, "UINT8": np.uint8, "BOOL": np.bool_}


@dataclass(frozen=True)
class SmokeResult:
    cold_start_s: float
    rows: int
    outputs: tuple[str, ...]
    max_abs_diff: float


def _request(url: str, body: dict[str, Any] | None = None, timeout: float = 10) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def eval_frame(spec: Any, signature: dict[str, Any], n: int) -> Any:
    """Up to ``n`` rows of the evaluation data's feature columns, as read (strings, booleans, ints kept).

    The columns are the signature's ``features`` (the binding the server maps names with), else the build's
    feature selection. Rows with a missing value are passed over while complete rows remain: JSON has no NaN.
    """
    from mlready.generators._shared.data import choose_features, read_table

    if not spec.data.eval:
        raise ImageError("the smoke test needs data.eval (rows to send); set it or use --no-smoke")
    name = spec.data.eval
    frame = read_table(spec.resolve(name), name)  # CSV or Parquet by suffix, as the build reads it
    bound = [f["name"] for f in signature.get("features") or []]
    features = choose_features(frame, name, spec.data.target, bound or spec.data.features,
                               signature.get("feature_names"))
    rows = frame[list(features)]
    complete = rows[rows.notna().all(axis=1)]
    return (complete if len(complete) else rows).head(n).reset_index(drop=True)


def eval_rows(spec: Any, signature: dict[str, Any], n: int) -> np.ndarray:
    """The first ``n`` rows of the evaluation data, feature columns in the model's order."""
    return np.asarray(eval_frame(spec, signature, n).to_numpy())


def expected(model_path: Path, signature: dict[str, Any], rows: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(v2 request body, onnxruntime outputs by name) for the rows (a table, or a matrix in input order)."""
    import onnxruntime as ort

    inputs = signature["inputs"]
    feeds: dict[str, np.ndarray] = {}
    if hasattr(rows, "columns") and signature.get("features"):  # through the binding the server uses
        from mlready.generators._shared.feeds import frame_feeds

        feeds = frame_feeds(rows, inputs, signature["features"], "data.eval")
    else:
        rows = np.asarray(rows.to_numpy() if hasattr(rows, "columns") else rows)
        if len(inputs) == 1:
            spec_in = inputs[0]
            feeds[spec_in["name"]] = rows.astype(V2_TO_NUMPY[spec_in["datatype"]])
        else:  # one input per feature column
            for i, spec_in in enumerate(inputs):
                feeds[spec_in["name"]] = rows[:, i : i + 1].astype(V2_TO_NUMPY[spec_in["datatype"]])
    by_name = {s["name"]: s for s in inputs}
    body = {"inputs": [{"name": name, "datatype": by_name[name]["datatype"], "shape": list(arr.shape),
                        "data": arr.ravel().tolist()} for name, arr in feeds.items()]}
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    results = session.run(names, feeds)
    want = {n: np.asarray(r) for n, r in zip(names, results, strict=True) if isinstance(r, np.ndarray)}
    return body, served(signature, want)


def served(signature: dict[str, Any], outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """onnxruntime's outputs as the server answers them: the label as the class name, regression outputs one
    number per row (the runtime's own shaping, mlready.runtime.answers)."""
    from mlready.runtime.answers import answers_for
    from mlready.runtime.signature import Signature

    answers = answers_for(Signature.from_dict(signature, where="metadata.json"))
    return answers.apply(dict(outputs)) if answers is not None else outputs


def compare(reply: dict[str, Any], want: dict[str, np.ndarray]) -> tuple[tuple[str, ...], float]:
    got = {o["name"]: o for o in reply.get("outputs", [])}
    worst = 0.0
    checked = []
    for name, ref in want.items():
        if name not in got:
            raise ImageError(f"smoke test: the server's reply has no output {name!r} (got {sorted(got)})")
        arr = np.asarray(got[name]["data"]).reshape(ref.shape)
        if ref.dtype.kind in "fc":
            diff = float(np.max(np.abs(arr.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0
            if not np.allclose(arr, ref, rtol=1e-4, atol=1e-5):
                raise ImageError(f"smoke test: output {name!r} differs from onnxruntime (max |diff| {diff:.3g})")
            worst = max(worst, diff)
        elif not np.array_equal(arr.astype(ref.dtype), ref):
            raise ImageError(f"smoke test: output {name!r} differs from onnxruntime: {arr.tolist()} != {ref.tolist()}")
        checked.append(name)
    return tuple(checked), worst


def smoke_test(client: Any, image: str, *, spec: Any, context_dir: Path, user: str, rows: int = 8,
               timeout: float = 60.0) -> SmokeResult:
    runtime = json.loads((context_dir / "runtime.json").read_text())
    port = int(runtime.get("http_port", 8080))
    repo = context_dir / "model-repository" / spec.model_name / str(spec.model.version)
    signature = json.loads((repo / "metadata.json").read_text())
    body, want = expected(repo / "model.onnx", signature, eval_frame(spec, signature, rows))

    t0 = time.perf_counter()
    container = client.containers.run(
        image, detach=True, user=user, read_only=True, tmpfs={"/tmp": "rw,size=64m"},
        cap_drop=["ALL"], security_opt=["no-new-privileges"], ports={f"{port}/tcp": ("127.0.0.1", None)},
    )
    try:
        base = f"http://127.0.0.1:{_host_port(container, port)}"
        cold = _wait_ready(container, f"{base}/v2/health/ready", t0, timeout)
        status, raw = _request(f"{base}/v2/models/{spec.model_name}/infer", body)
        if status != 200:
            raise ImageError(f"smoke test: inference answered {status}: {raw[:300]!r}", details=_logs(container))
        try:
            names, worst = compare(json.loads(raw), want)
        except ImageError as exc:
            raise ImageError(str(exc), details=_logs(container)) from None
        return SmokeResult(cold, rows, names, worst)
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True)


def _host_port(container: Any, port: int) -> int:
    for _ in range(50):
        container.reload()
        bound = (container.attrs["NetworkSettings"].get("Ports") or {}).get(f"{port}/tcp")
        if bound:
            return int(bound[0]["HostPort"])
        time.sleep(0.05)
    raise ImageError(f"smoke test: port {port} was not published", details=_logs(container))


def _wait_ready(container: Any, url: str, t0: float, timeout: float) -> float:
    while time.perf_counter() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return time.perf_counter() - t0
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        container.reload()
        if container.status in ("exited", "dead"):
            raise ImageError(f"smoke test: the container exited ({container.attrs['State'].get('ExitCode')}) "
                             "before it was ready", details=_logs(container))
        time.sleep(0.02)
    raise ImageError(f"smoke test: not ready after {timeout:.0f}s", details=_logs(container))


def _logs(container: Any) -> str:
    try:
        text = container.logs().decode(errors="replace")
    except Exception as exc:  # noqa: BLE001
        return f"(container logs unavailable: {exc})"
    lines = text.strip().splitlines()[-40:]
    return "container logs (last lines):\n" + "\n".join(f"  | {line}" for line in lines)
