"""The production loop end to end, locally (issue 16): capture -> label file -> `mlready monitor` -> the generated
retrain workflow's job commands in order, in a temp git repo with a real DVC (local remote) and the project's real
MLflow registry (embedded SQLite store).

Production traffic is answered by `mlready serve` on the current build with ``serving.capture`` on (the file sink
writes into the DVC-tracked ``production/capture``); labels arrive later in a file keyed by request id and row.
`mlready monitor` joins them and exits 1 when a window fails the spec's production gate (``f1 >= 0.95``): the
retrain trigger. The jobs that need a registry and a cluster (image-build, push, deploy-canary) are not run here:
they need docker and a cluster; their commands are the main pipeline's. A better challenger passes the readiness
and champion gates and the promote job moves the alias; a worse one (wrong labels) fails the build with the gate
table, the pipeline stops, and the alias stays.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_breast_cancer

from tests.monitoring.test_end_to_end import free_port, running

ROOT = Path(__file__).resolve().parents[2]
DVC = ROOT / ".tools" / "dvc" / "bin" / "dvc"
VENV_BIN = Path(sys.executable).parent
SKIPPED = ("image-build", "push", "deploy-canary")  # need docker and a cluster

pytestmark = [pytest.mark.slow, pytest.mark.tools, pytest.mark.server]  # server: `mlready serve` answers production

TRAIN = """\
import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

train = pd.read_csv("data/train.csv")
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
joblib.dump(model.fit(train.drop(columns="target"), train["target"]), "model.joblib")
"""

SPEC = """\
project:
  name: demo
model:
  source: model.joblib
data:
  train: data/train.csv
  eval: data/eval.csv
readiness:
  cv: {folds: 0}
  gates: ['f1 >= 0.95']
serving:
  capture: {enabled: true, sample_rate: 1.0, directory: CAPTURE_DIR}
pipeline:
  retrain:
    base: data/base.csv
    labels: production/labels.csv
    schedule: "30 2 * * *"
"""
CHAMPION = "  compare_to: models:/demo@champion\n  gates: ['f1 >= 0.95', 'f1 >= champion.f1 - 0.005']\n"
OVERRIDES = ["+ci=github", "+target=[docker,k8s]", "target.docker.registry=registry.example.com/team"]


def run(cwd: Path, env: dict[str, str], *cmd: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if ok and proc.returncode:
        raise AssertionError(f"{cmd} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def job(cwd: Path, env: dict[str, str], steps: str) -> subprocess.CompletedProcess:
    """A job's commands as the workflow's bash step runs them (its setup, venv and install, is this venv)."""
    return run(cwd, env, "bash", "-eo", "pipefail", "-c", steps, ok=False)


def workflow_steps(doc: dict) -> list[tuple[str, str]]:
    """(job, its commands without the setup) in the workflow's order."""
    out = []
    for name, spec in doc["jobs"].items():
        script = next(s["run"] for s in spec["steps"] if s.get("name") == name)
        lines = script.splitlines()
        setup = ("python3 -m venv", ". .venv", "python -m pip install")
        start = max((i for i, line in enumerate(lines) if line.startswith(setup)), default=-1)
        out.append((name, "\n".join(lines[start + 1:])))
    return out


def alias_version(root: Path) -> str:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / '.mlready' / 'mlflow.db'}")
    return str(client.get_registered_model("demo").aliases["champion"])


def serve_production(root: Path, rows: pd.DataFrame, wrong: bool, name: str) -> None:
    """Production: `mlready serve` on the current build (capture on, into production/capture) answers the rows in
    requests of 10 by feature name under the request ids ``<name>-0``, ...; their true labels (or flipped ones)
    arrive later in production/labels.csv, keyed by request id and row."""
    port = free_port()
    argv = [sys.executable, "-m", "mlready.engine", "serve", "-C", str(root), "--http-port", str(port),
            "--grpc-port", "off"]
    features = rows.drop(columns="target")
    ids = []
    with running(argv, root.parent / f"serve-{name}.log", f"http://127.0.0.1:{port}/v2/health/ready", 60):
        for start in range(0, len(rows), 10):
            chunk, rid = features.iloc[start:start + 10], f"{name}-{start // 10}"
            r = httpx.post(f"http://127.0.0.1:{port}/v1/models/demo:predict", headers={"X-Request-Id": rid},
                           json={"instances": chunk.to_dict("records")}, timeout=30)
            assert r.status_code == 200 and r.headers["x-request-id"] == rid, r.text
            ids += [(rid, i) for i in range(len(chunk))]
    captured = [json.loads(line) for f in sorted((root / "production" / "capture").glob("*.jsonl"))
                for line in f.read_text().splitlines()]
    assert sum(rec["rows"] for rec in captured if rec["id"].startswith(f"{name}-")) == len(rows)  # flushed at stop
    target = rows["target"].to_numpy()
    labels = pd.DataFrame({"request_id": [i for i, _ in ids], "row": [j for _, j in ids],
                           "target": 1 - target if wrong else target})
    path = root / "production" / "labels.csv"
    if path.exists():
        labels = pd.concat([pd.read_csv(path), labels])
    labels.to_csv(path, index=False)


def monitor(root: Path, env: dict[str, str], out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """`mlready monitor` over all the capture and labels so far, one window a day; its exit and monitor.json."""
    proc = run(root, env, "mlready", "monitor", "--capture", "production/capture", "--labels",
               "production/labels.csv", "--window", "1d", "--min-rows", "30", "--out", str(out), ok=False)
    assert (out / "monitor.json").is_file(), proc.stdout + proc.stderr
    return proc, json.loads((out / "monitor.json").read_text())


@pytest.mark.skipif(not DVC.is_file(), reason="tools/install-python-tools.sh installs dvc")
def test_retrain_pipeline_promotes_a_better_challenger_and_refuses_a_worse_one(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    env = {**os.environ, "PATH": f"{VENV_BIN}:{DVC.parent}:{os.environ['PATH']}",
           "MLREADY_CACHE_DIR": str(tmp_path / "cache"), "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for key in ("MLFLOW_TRACKING_URI", "MLREADY_TRACKING", "VIRTUAL_ENV"):
        env.pop(key, None)
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 6, 7, 20, 21, 27, -1]]
    frame.columns = ["radius", "texture", "concavity", "concave_points", "worst_radius", "worst_texture",
                     "worst_concave_points", "target"]
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    (root / "data").mkdir()
    base, prod1, prod2, ev = frame.iloc[:24], frame.iloc[24:224], frame.iloc[224:394], frame.iloc[394:]
    base.to_csv(root / "data" / "base.csv", index=False)
    ev.to_csv(root / "data" / "eval.csv", index=False)
    base.to_csv(root / "data" / "train.csv", index=False)  # the first training set: the base rows alone
    (root / "train.py").write_text(TRAIN)
    spec = SPEC.replace("CAPTURE_DIR", str(root / "production" / "capture"))  # where the server writes
    (root / "deploy.yaml").write_text(spec)
    (root / ".gitignore").write_text("/build/\n/.mlready/\n/model.joblib\n")
    run(root, env, "git", "init", "-q", "-b", "main")
    run(root, env, "dvc", "init", "-q")
    run(root, env, "dvc", "remote", "add", "-d", "local", str(tmp_path / "dvc-remote"))

    # the champion: trained on the 24 base rows, built (f1 on data/eval.csv >= 0.95), registered as version 1
    # and promoted
    run(root, env, sys.executable, "train.py")
    run(root, env, "mlready", "build", "--wait-tracking", *OVERRIDES)
    run(root, env, "mlready", "promote", "demo", "--version", "1")
    assert alias_version(root) == "1"

    # 200 production rows answered by the champion, then their true labels: production f1 is below the spec's
    # gate, `mlready monitor` fails (the retrain trigger)
    serve_production(root, prod1, wrong=False, name="week1")
    proc, report = monitor(root, env, tmp_path / "monitor")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "production gates fail: f1 >= 0.95 in 1 window(s)" in proc.stderr
    (window,) = report["windows"]
    assert window["rows"] == 200 and window["gated"] and report["failing_gates"] == ["f1 >= 0.95"]
    assert 0.9 < window["metrics"]["f1"] < 0.95  # the champion's production f1 (0.939; 0.963 on data/eval.csv)

    # the retrain loop switched on: champion gates in the spec, the generated stage and workflow committed
    (root / "deploy.yaml").write_text(spec.replace("  gates: ['f1 >= 0.95']\n", CHAMPION))
    run(root, env, "mlready", "build", *OVERRIDES, "+pipeline=retrain")
    workflow = yaml.safe_load((root / "build/ci/.github/workflows/mlready-retrain.yml").read_text())
    assert workflow["on"]["schedule"] == [{"cron": "30 2 * * *"}]
    (root / "retrain").mkdir()
    shutil.copy(root / "build" / "retrain" / "dvc.yaml", root / "retrain" / "dvc.yaml")
    (root / "data" / "train.csv").unlink()  # from now on the gather stage's output

    steps = workflow_steps(workflow)
    assert [name for name, _ in steps] == ["gather", "retrain", "build", *SKIPPED, "promote"]
    assert "mlready promote demo --alias champion --from-build build" in dict(steps)["promote"]

    def loop() -> dict[str, subprocess.CompletedProcess]:
        done = {}
        for name, commands in steps:
            if name in SKIPPED:
                continue
            done[name] = job(root, env, commands)
            if done[name].returncode:  # a failed job stops the pipeline: later jobs do not run
                break
        return done

    def commit(name: str) -> None:
        run(root, env, "dvc", "add", "-q", "production/capture", "production/labels.csv")
        run(root, env, "git", "add", ".")
        run(root, env, "git", "commit", "-q", "-m", f"production rows {name}")
        run(root, env, "dvc", "push", "-q")

    # the week's rows committed (DVC) and the pipeline run: the challenger beats the champion, the alias moves
    commit("week1")
    done = loop()
    assert all(p.returncode == 0 for p in done.values()), {n: p.stdout[-2000:] + p.stderr[-2000:]
                                                           for n, p in done.items()}
    assert list(done) == ["gather", "retrain", "build", "promote"]
    assert "data/train.csv: 224 rows (200 labelled production rows added" in done["gather"].stdout
    assert len(pd.read_csv(root / "data" / "train.csv")) == 224
    assert done["promote"].stdout.strip() == "demo@champion: version 1 -> version 2"
    assert alias_version(root) == "2"
    assert (root / "retrain" / "dvc.lock").is_file()  # the training set's version, beside the model's

    # 170 more rows with wrong labels: the challenger is worse, the build fails with the gate table, no promote
    serve_production(root, prod2, wrong=True, name="week2")  # answered by the new champion, version 2
    commit("week2")
    done = loop()
    assert list(done) == ["gather", "retrain", "build"]
    assert done["gather"].returncode == 0 and done["retrain"].returncode == 0
    assert done["build"].returncode == 1
    out = done["build"].stdout + done["build"].stderr
    assert "readiness: 2 of 2 gates failed" in out, out  # wrong labels: below the gate and the champion
    assert "metric  value   champion  threshold" in out and "(champion.f1 - 0.005)  FAIL" in out, out
    assert alias_version(root) == "2"
