"""Named-feature serving benchmark (issue 15): a mixed-type scikit-learn pipeline, mlready vs MLflow.

    .venv/bin/python benchmarks/bench_named.py [--duration 8] [--rounds 3] [--skip-mlflow]

The model is examples/tabular (``--project``, the default when it exists): its scikit-learn pipeline on a mixed
table (string categories, missing values, integers, a boolean), built by ``mlready build`` (skl2onnx, one typed
input per column) and served from the build's model and signature by mlready, and saved from its
``model.joblib`` with ``mlflow.sklearn`` for ``mlflow models serve`` (pyfunc, ``--env-manager local``); the
request row is the first row of its evaluation data. ``--project none`` uses benchmarks/serving/models.py's
``mixed_pipeline`` (ColumnTransformer of scaler, imputer + scaler, one-hot and a passthrough bool, then a
logistic regression). Side by side in one run, in alternating rounds, ``wrk`` with 32 connections and batch-1
JSON:

- ``mlflow models serve``, ``POST /invocations`` with ``{"dataframe_records": [row]}``;
- mlready, the same body on its ``/invocations`` (MLflow's payload, unchanged);
- mlready, TF Serving ``:predict`` with ``{"instances": [row]}``, the row keyed by feature name;
- mlready, TF Serving ``:predict`` with the positional form on the same model (the row's values in feature
  order, ``[[40, 52.5, "NY", false]]``).

Goals: mlready (named records) >= 10x MLflow's req/s and p99 <= 10 ms at 32 connections; named rows >= 80% of
the positional form's req/s. Servers use the same settings as bench_serving.py (auth on, batching on).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_serving as bs  # noqa: E402  (the process, wrk and table helpers)
from bench_serving import models  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--skip-mlflow", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    default = HERE.parent / "examples" / "tabular"
    ap.add_argument("--project", default=str(default) if default.is_dir() else "none",
                    help="an mlready project with a scikit-learn pipeline (model.joblib), or 'none'")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("wrk missing: run tools/install-system-deps.sh", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="mlready-bench-named-"))
    servers: list[bs.Server] = []
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; work dir {work}")
        repo = work / "repo"
        if args.project != "none":
            signature, df, pipe, row = from_project(Path(args.project), work, repo)
        else:
            onx, signature, df, pipe = models.mixed_pipeline()
            models.write_version(repo, "churn", 1, onx, signature)
            row = {"age": 40, "income": 52.5, "state": "NY", "member": False}
        print(f"model: {signature['name']}, features {[(f['name'], f['datatype']) for f in signature['features']]}")
        bodies = {
            "records": {"dataframe_records": [row]},
            "named": {"instances": [row]},
            "positional": {"instances": [[row[f["name"]] for f in signature["features"]]]},
        }
        paths = {}
        for name, body in bodies.items():
            paths[name] = work / f"{name}.json"
            paths[name].write_text(json.dumps(body))
        lua = work / "post.lua"
        lua.write_text(bs.LUA)

        runs: list[tuple[bs.Server, Path]] = []
        if not args.skip_mlflow:
            import warnings

            import mlflow.sklearn

            warnings.filterwarnings("ignore", module="mlflow")  # schema hints and the pickle caution
            from mlflow.models import infer_signature

            mlflow.sklearn.save_model(pipe, str(work / "mlflow_model"),
                                      signature=infer_signature(df, pipe.predict(df)),
                                      serialization_format="cloudpickle")
            servers.append(bs.mlflow_server(work, work / "mlflow_model"))
            runs.append((servers[-1], paths["records"]))
        mlr = bs.mlready_server(work, "mlready", repo, True, bs.free_port(), bs.free_port())
        servers.append(mlr)
        # views of the one mlready process, one per request form (the CPU accounting is per run)
        views = {
            "mlready /invocations records": (dataclasses.replace(mlr, predict="/invocations", results=[]), "records"),
            "mlready :predict named": (dataclasses.replace(mlr, results=[]), "named"),
            "mlready :predict positional": (dataclasses.replace(mlr, results=[]), "positional"),
        }
        for label, (view, form) in views.items():
            view.name = label
            runs.append((view, paths[form]))
        for server, body in runs:  # every form answers 200 with the same label before it is measured
            check(server, body)
        print(f"\nmixed-type pipeline '{signature['name']}', wrk {args.connections} connections, batch-1 JSON, "
              f"{args.rounds} x {args.duration:.0f}s alternating")
        by = bs.measure([s for s, _ in runs], [b for _, b in runs], lua, args.connections, args)
        named = by["mlready :predict named"]
        records = by["mlready /invocations records"]
        if "mlflow models serve" in by:
            base = by["mlflow models serve"]
            for label, m in (("named records on /invocations", records), ("named rows on :predict", named)):
                ratio = m["rps"] / base["rps"]
                bs.goal(f">= 10x MLflow req/s, {label}", ratio >= 10, f"{ratio:.1f}x")
            print(f"  (server CPU per request: MLflow needs {base['cpu_us'] / records['cpu_us']:.1f}x mlready's)")
        for label, m in (("named records on /invocations", records), ("named rows on :predict", named)):
            bs.goal(f"p99 <= 10 ms, {label}", m["p99"] <= 10, f"{m['p99']:.2f} ms")
        ratio = named["rps"] / by["mlready :predict positional"]["rps"]
        bs.goal("named rows >= 80% of the positional form's req/s", ratio >= 0.8, f"{ratio * 100:.0f}%")
        return 0
    finally:
        for s in servers:
            s.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def from_project(project: Path, work: Path, repo: Path) -> tuple[dict, Any, Any, dict]:
    """Build ``project``; its model and signature into ``repo``; (signature, eval features, pipeline, first row)."""
    import joblib
    import onnx
    import pandas as pd
    import yaml

    out = work / "build"
    subprocess.run([str(Path(bs.PY).parent / "mlready"), "build", "-C", str(project), "--out", str(out), "-q",
                    "tracking.enabled=false"], check=True)
    signature = json.loads((out / "model" / "signature.json").read_text())
    models.write_version(repo, signature["name"], 1, onnx.load(out / "model" / "model.onnx"), signature)
    spec = yaml.safe_load((project / "deploy.yaml").read_text())
    frame = pd.read_csv(project / spec["data"]["eval"])
    df = frame[[f["name"] for f in signature["features"]]]
    first = json.loads(df.head(1).to_json(orient="records"))[0]  # JSON types; NaN -> null
    row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in first.items()}
    return signature, df, joblib.load(project / spec["model"]["source"]), row


def check(server: bs.Server, body: Path) -> None:
    import urllib.request

    req = urllib.request.Request(server.url + server.predict, data=body.read_bytes(), method="POST",
                                 headers={**bs.AUTH, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        answer = json.loads(r.read())
    print(f"  {server.name}: {json.dumps(answer)[:160]}")


if __name__ == "__main__":
    raise SystemExit(main())
