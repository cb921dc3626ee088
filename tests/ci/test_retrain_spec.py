"""``+pipeline=retrain``: spec errors naming the key (a cron that does not parse, no champion, no training set,
a CI system it is not rendered for), and the gather stage's joining of capture records with late labels."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlready.engine import api
from mlready.engine.errors import SpecError
from mlready.generators._shared.production_data import GatherError
from mlready.generators.ci.retrain_gather import gather, main

from .conftest import TARGETS, copy_project

RETRAIN = ["+ci=github", *TARGETS, "+pipeline=retrain", "readiness.compare_to=models:/quickstart@champion",
           "data.train=train.csv"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("retrain-spec") / "project")
    (root / "train.csv").write_text("a,target\n1,0\n")
    return root


def problems(project: Path, overrides: list[str]) -> list[str]:
    with pytest.raises(SpecError) as err:
        api.validate(project, overrides)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize(("cron", "message"), [
    ("0 3 * *", "'0 3 * *' is not a cron expression: 5 fields (minute hour day month weekday), e.g. '0 3 * * 1', "
                "got 4"),
    ("61 3 * * 1", "'61 3 * * 1' does not parse as a cron expression (minute hour day month weekday)"),
    ("0 3 * * funday", "'0 3 * * funday' does not parse as a cron expression"),
])
def test_a_cron_that_does_not_parse_names_the_key(project: Path, cron: str, message: str) -> None:
    found = problems(project, [*RETRAIN, f"pipeline.retrain.schedule={cron}"])
    assert len(found) == 1, found
    (problem,) = found
    assert "pipeline.retrain.schedule" in problem and message in problem


@pytest.mark.parametrize(("override", "message"), [
    ("pipeline.retrain.canary_env=nonexistent",  # mlready deploy --env would fail in CI, after the image push
     "pipeline.retrain.canary_env: expected one of 'dev', 'staging', 'prod' or 'production', got 'nonexistent'"),
    ("pipeline.retrain.labels=production/labels.xlsx",  # gather would read it as CSV
     "pipeline.retrain.labels: 'production/labels.xlsx': a CSV (.csv) or Parquet (.parquet) file"),
    ("pipeline.retrain.base=data/base.json", "pipeline.retrain.base: 'data/base.json': a CSV (.csv) or Parquet"),
])
def test_a_canary_env_or_table_mlready_cannot_use_names_the_key(project: Path, override: str, message: str) -> None:
    (problem,) = problems(project, [*RETRAIN, override])
    assert message in problem


def test_the_loop_needs_a_champion_and_a_ci_system(project: Path) -> None:
    (problem,) = problems(project, ["+ci=[github,gitlab]", *TARGETS, "+pipeline=retrain", "data.train=train.csv"])
    assert "readiness.compare_to: the retrain pipeline gates on the champion" in problem
    (problem,) = problems(project, [*TARGETS, "+pipeline=retrain", "readiness.compare_to=models:/q@champion",
                                    "data.train=train.csv"])
    assert problem.endswith("deploy.yaml pipeline.retrain: the retrain pipeline is rendered for the CI systems the "
                            "spec enables: add one (+ci=github)")


def test_the_spec_passes_with_them(project: Path) -> None:
    api.validate(project, RETRAIN)


def _capture(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def test_gather_joins_labels_by_request_and_row_and_counts_what_it_leaves_out(tmp_path: Path) -> None:
    cap = _capture(tmp_path / "cap", [
        {"id": "r1", "rows": 2, "inputs": {"a": [1.0, 2.0], "b": ["x", "y"]}},
        {"id": "r2", "rows": 1, "inputs": {"a": [3.0], "b": ["[redacted]"]}},
    ])
    pd.DataFrame({"request_id": ["r1", "r1", "r2", "gone", "r1"], "row": [1, 0, 0, 0, 1],
                  "y": [1, 0, 1, 0, 1]}).to_csv(tmp_path / "labels.csv", index=False)
    pd.DataFrame({"b": ["z"], "a": [9.0], "y": [0]}).to_csv(tmp_path / "base.csv", index=False)
    frame, counts = gather(cap, tmp_path / "labels.csv", "y", tmp_path / "base.csv")
    assert frame.to_dict("records") == [{"b": "z", "a": 9.0, "y": 0}, {"b": "y", "a": 2.0, "y": 1},
                                        {"b": "x", "a": 1.0, "y": 0}]
    assert counts == {"labels": 5, "feedback": 0, "used": 2, "not_captured": 1, "unusable": 1, "duplicate": 1}


def test_gather_errors_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cap = _capture(tmp_path / "cap", [{"id": "r1", "rows": 1, "inputs": {"a": [1.0]}}])
    (cap / "b.jsonl").write_text('{"id": "r2"}\nnot json\n')
    pd.DataFrame({"request_id": ["r1"], "y": [1]}).to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(GatherError, match=r"cap/b.jsonl:2: not a capture record"):
        gather(cap, tmp_path / "labels.csv", "y", None)
    (cap / "b.jsonl").unlink()
    pd.DataFrame({"b": [1.0], "y": [0]}).to_csv(tmp_path / "base.csv", index=False)
    with pytest.raises(GatherError, match="request r1 has no feature 'b' \\(it captured a; serving.capture.drop"):
        gather(cap, tmp_path / "labels.csv", "y", tmp_path / "base.csv")
    out = tmp_path / "next.csv"
    assert main(["--capture", str(cap), "--labels", str(tmp_path / "labels.csv"), "--target", "label",
                 "--out", str(out)]) == 2
    assert "labels.csv: no column 'label' (columns: request_id, y)" in capsys.readouterr().err
    pd.DataFrame({"request_id": ["other"], "y": [1]}).to_csv(tmp_path / "none.csv", index=False)
    assert main(["--capture", str(cap), "--labels", str(tmp_path / "none.csv"), "--target", "y",
                 "--out", str(out)]) == 1
    assert not out.exists()  # nothing half-written


@pytest.mark.tools
def test_the_generated_files_pass_their_tools(project: Path, tmp_path: Path) -> None:
    """The retrain workflow passes GitHub's schema, the Jenkinsfile Groovy's parser with its triggers and
    parameters, the receiver Alertmanager's own amtool check-config (the token only as a file path)."""
    import subprocess
    import sys

    import yaml

    from .test_pipelines import find, groovy_trees

    overrides = ["+ci=[github,jenkins]", *RETRAIN[1:], "pipeline.retrain.receiver.jenkins_url=https://ci.example.com",
                 "pipeline.retrain.receiver.job=ml/quickstart-retrain", "pipeline.retrain.schedule=15 4 * * 1-5",
                 "readiness.enabled=false", "serving.drift=false"]  # the files only: no data, no champion here
    built = api.build(project, overrides, out=tmp_path / "out", run_hooks=False).out_dir
    workflow = built / "ci/.github/workflows/mlready-retrain.yml"
    proc = subprocess.run([str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema",
                           "vendor.github-workflows", str(workflow)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = yaml.safe_load(workflow.read_text())
    assert doc["on"]["schedule"] == [{"cron": "15 4 * * 1-5"}]
    assert doc["on"]["repository_dispatch"] == {"types": ["mlready-retrain"]}
    assert list(doc["jobs"]) == ["gather", "retrain", "build", "image-build", "push", "deploy-canary", "promote"]

    (tree,) = groovy_trees(built / "ci/Jenkinsfile.retrain").values()
    assert [n[0] for n in tree[0][2]] == ["agent", "options", "triggers", "parameters", "environment", "stages",
                                          "post"]
    assert find(tree, "cron")[0][1] == ["15 4 * * 1-5"]
    assert [s[1][0] for s in find(tree, "stage")][-1] == "promote"
    assert find(tree, "sh")[-1][1][0].strip() == (". .venv/bin/activate\n"
                                                   "mlready promote quickstart --alias champion --from-build build")

    receiver = built / "retrain/alertmanager.yml"
    proc = subprocess.run(["amtool", "check-config", str(receiver)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hook = yaml.safe_load(receiver.read_text())["receivers"][1]["webhook_configs"][0]
    assert hook["url"] == ("https://ci.example.com/job/ml/job/quickstart-retrain/buildWithParameters"
                           "?MLREADY_RETRAIN_REASON=alert")
    assert hook["http_config"]["basic_auth"] == {"username": "mlready",
                                                 "password_file": "/etc/alertmanager/secrets/mlready-retrain-token"}
    stage = yaml.safe_load((built / "retrain/dvc.yaml").read_text())["stages"]["gather"]
    assert stage["outs"] == ["train.csv"] and stage["deps"] == ["production/capture"]  # labels: feedback records


def test_the_stage_reads_the_label_file_only_when_the_spec_names_one(project: Path, tmp_path: Path) -> None:
    """pipeline.retrain.labels unset (the default): the stage's labels are the served model's feedback records in
    the capture folder, and a note says where they come from; set: the file is read too and is a dependency."""
    import yaml

    base = [*RETRAIN, "readiness.enabled=false", "serving.drift=false"]
    built = api.build(project, base, out=tmp_path / "a", run_hooks=False).out_dir
    stage = yaml.safe_load((built / "retrain/dvc.yaml").read_text())["stages"]["gather"]
    assert stage["cmd"] == ("python -m mlready.generators.ci.retrain_gather --capture production/capture --target "
                            "target --model quickstart --out train.csv")
    assert stage["deps"] == ["production/capture"]
    notes = json.loads((built / "reports/ci-retrain.json").read_text())["notes"]
    (note,) = [n for n in notes if "pipeline.retrain.labels" in n]
    assert "feedback records of quickstart in production/capture" in note
    assert "this spec does not switch both on" in note  # capture and feedback are off in this spec
    on = ["serving.capture.enabled=true", "serving.capture.directory=/var/lib/mlready/capture",
          "serving.feedback.enabled=true"]
    built = api.build(project, [*base, *on], out=tmp_path / "b", run_hooks=False).out_dir
    (note,) = [n for n in json.loads((built / "reports/ci-retrain.json").read_text())["notes"]
               if "pipeline.retrain.labels" in n]
    assert "does not switch both on" not in note
    built = api.build(project, [*base, "pipeline.retrain.labels=production/labels.csv"], out=tmp_path / "c",
                      run_hooks=False).out_dir
    stage = yaml.safe_load((built / "retrain/dvc.yaml").read_text())["stages"]["gather"]
    assert "--labels production/labels.csv --target target --model quickstart" in stage["cmd"]
    assert stage["deps"] == ["production/capture", "production/labels.csv"]
    assert not [n for n in json.loads((built / "reports/ci-retrain.json").read_text())["notes"]
                if "pipeline.retrain.labels" in n]


def test_a_receiver_needs_jenkins_and_a_plain_url(project: Path) -> None:
    (problem,) = problems(project, [*RETRAIN, "pipeline.retrain.receiver.jenkins_url=https://ci.example.com"])
    assert "pipeline.retrain.receiver.jenkins_url: the Alertmanager receiver starts the Jenkins retrain job" in problem
    (problem,) = problems(project, [*RETRAIN, "pipeline.retrain.receiver.jenkins_url=https://u:p@ci.example.com"])
    assert "is not an http(s) base URL without credentials" in problem


@pytest.mark.tools
def test_real_dvc_runs_the_generated_stage_on_feedback_records_alone(project: Path, tmp_path: Path) -> None:
    """The stage as generated with no label file, run by DVC itself (`dvc repro`, as the gather job runs it) over a
    capture folder of the server's records: the next training set holds the rows its feedback records label."""
    import os
    import subprocess
    import sys

    dvc = Path(__file__).resolve().parents[2] / ".tools" / "dvc" / "bin" / "dvc"
    if not dvc.is_file():
        pytest.skip("tools/install-python-tools.sh installs dvc")
    built = api.build(project, [*RETRAIN, "readiness.enabled=false", "serving.drift=false"], out=tmp_path / "out",
                      run_hooks=False).out_dir
    root = tmp_path / "repo"
    (root / "retrain").mkdir(parents=True)
    (root / "retrain" / "dvc.yaml").write_bytes((built / "retrain" / "dvc.yaml").read_bytes())
    time = "2026-12-06T01:10:00.000000Z"
    records = [{"id": "r1", "time": time, "model": "quickstart", "version": "1", "protocol": "tfserving", "rows": 2,
                "sample_rate": 1.0, "inputs": {"a": [1.5, 2.5]}, "outputs": {"label": ["0", "1"]}},
               {"id": "r1", "time": time, "kind": "feedback", "model": "quickstart", "outcome": "joined", "rows": 2,
                "label": ["1", "1"]},
               {"id": "r1", "time": time, "kind": "feedback", "model": "other", "outcome": "unknown", "rows": 1,
                "label": ["0"]}]
    _capture(root / "production" / "capture", records)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    for cmd in ([str(dvc), "init", "--no-scm", "-q"], [str(dvc), "repro", "retrain/dvc.yaml"]):
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "train.csv: 2 rows (2 labelled production rows added; 2 labels, 2 from feedback records" in proc.stdout
    assert pd.read_csv(root / "train.csv").to_dict("list") == {"a": [1.5, 2.5], "target": [1, 1]}
