"""``mlready monitor`` on a real build: capture written by ``mlready score --capture`` (the server's record
format), late labels in CSV, the CLI run as a user runs it. Healthy windows pass (exit 0); a window with wrong
labels or shifted features fails the named production gates (exit 1); bad input is exit 2 naming file, row and
column, and writes no report; the HTML renders in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.monitoring.conftest import build_quickstart

OVERRIDES = ["data.sample=data/eval.csv", "readiness.sample.gates=['drift.psi.max <= 0.25']"]
HOUR = "2026-12-06T{:02d}:10:00.000000Z"


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlready.engine", *args], capture_output=True, text=True,
                          timeout=timeout)


def monitor(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`mlready monitor -C project ... OVERRIDES` (the spec as built: overrides compose the same way)."""
    return cli("monitor", "-C", str(project), *args, *OVERRIDES)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_quickstart(tmp_path_factory, "monitor", OVERRIDES).parent


def captured(project: Path, work: Path, frame: pd.DataFrame, hour: int) -> dict:
    """Score ``frame`` with the built model through `mlready score --capture`; its record, timed at ``hour``."""
    name = f"in-{hour}"
    frame.drop(columns=["target"]).to_csv(work / f"{name}.csv", index=False)
    run = cli("score", "-C", str(project), "-i", str(work / f"{name}.csv"), "-o", str(work / f"{name}.out.csv"),
              "--capture", str(work / f"{name}.jsonl"))
    assert run.returncode == 0, run.stderr
    (record,) = [json.loads(line) for line in (work / f"{name}.jsonl").read_text().splitlines()]
    record["time"] = HOUR.format(hour)  # the windows the test needs: one scoring run per hour
    (work / "capture").mkdir(exist_ok=True)
    (work / "capture" / f"{name}.jsonl").write_text(json.dumps(record) + "\n")
    return record


def labels_of(record: dict, truth: list) -> pd.DataFrame:
    return pd.DataFrame({"request_id": record["id"], "row": range(len(truth)), "target": truth})


@pytest.fixture(scope="module")
def windows(project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Hour 1: eval rows, true labels. Hour 2: eval rows, every label wrong. Hour 3: the eval rows of the larger
    half of mean_radius, labelled with the model's own answers (right, but drifted)."""
    work = tmp_path_factory.mktemp("monitor-work")
    ev = pd.read_csv(project / "data" / "eval.csv")
    healthy = captured(project, work, ev, 1)
    wrong = captured(project, work, ev, 2)
    shifted = ev[ev["mean_radius"] > ev["mean_radius"].median()]  # real rows, the larger tumours only
    drifted = captured(project, work, shifted, 3)
    labels = pd.concat([labels_of(healthy, list(ev["target"])), labels_of(wrong, list(1 - ev["target"])),
                        labels_of(drifted, [int(v) for v in drifted["outputs"]["label"]])])
    labels.to_csv(work / "labels.csv", index=False)
    return work, work / "labels.csv"


def only(work: Path, hours: list[int]) -> Path:
    folder = work / f"capture-{'-'.join(map(str, hours))}"
    folder.mkdir(exist_ok=True)
    for h in hours:
        shutil.copy(work / "capture" / f"in-{h}.jsonl", folder)
    return folder


def test_healthy_window_passes(project: Path, windows: tuple[Path, Path]) -> None:
    work, labels = windows
    out = work / "report-healthy"
    run = monitor(project, "--capture", str(only(work, [1])), "--labels", str(labels),
              "--out", str(out))
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "monitor.json").read_text())
    (w,) = report["windows"]
    assert w["rows"] == 143 and w["gated"] and w["passed"]
    assert {g["gate"] for g in w["gates"]} == {"f1 >= 0.95", "auc >= 0.98", "drift.psi.max <= 0.25"}
    assert w["metrics"]["f1"] > 0.95 and w["drift_summary"]["drift.psi.max"] < 0.25
    assert report["join"]["not_captured"] == 143 + 71  # the other hours' labels: counted, not errors
    assert w["drift_note"] is None  # 143 rows over 10 bins: enough to read PSI


def test_drift_over_few_rows_is_said_to_be_noise(project: Path, windows: tuple[Path, Path]) -> None:
    """40 in-distribution rows read as drift on most features (PSI above 1 on some): the terminal names the most
    drifted features, and the report and the terminal say that PSI over so few rows a bin is mostly noise."""
    work, labels = windows
    few = work / "labels-few.csv"
    pd.read_csv(labels, dtype={"request_id": str}).head(40).to_csv(few, index=False)
    out = work / "report-few"
    run = monitor(project, "--capture", str(only(work, [1])), "--labels", str(few), "--out", str(out),
                  "--min-rows", "30")
    (w,) = json.loads((out / "monitor.json").read_text())["windows"]
    assert w["rows"] == 40
    assert w["drift_note"] == "40 rows over 10 bins a feature: PSI from fewer than 10 rows a bin is mostly noise"
    drift_line = next(line for line in run.stderr.splitlines() if line.strip().startswith("drift:"))
    assert "features at PSI > 0.25 (" in drift_line and drift_line.endswith(w["drift_note"])
    assert "mostly noise" in (out / "monitor.html").read_text()


def test_degraded_and_drifted_windows_fail_naming_the_gates(project: Path, windows: tuple[Path, Path]) -> None:
    work, labels = windows
    out = work / "report-all"
    run = monitor(project, "--capture", str(work / "capture"), "--labels", str(labels),
              "--window", "1h", "--out", str(out))
    assert run.returncode == 1, run.stderr
    assert "production gates fail" in run.stderr
    report = json.loads((out / "monitor.json").read_text())
    by_hour = {w["start"][11:13]: w for w in report["windows"]}
    assert list(by_hour) == ["01", "02", "03"]
    assert by_hour["01"]["passed"]
    failed = {h: {g["gate"] for g in w["gates"] if not g["passed"]} for h, w in by_hour.items()}
    assert failed["02"] == {"f1 >= 0.95", "auc >= 0.98"}  # wrong labels: the metrics, not the data
    assert failed["03"] == {"drift.psi.max <= 0.25"}  # right labels on shifted data: drift only
    assert "FAIL f1 >= 0.95" in run.stderr and "FAIL drift.psi.max <= 0.25" in run.stderr
    # a window under --min-rows is reported, not gated
    run = monitor(project, "--capture", str(work / "capture"), "--labels", str(labels),
              "--min-rows", "500", "--out", str(work / "report-few"))
    assert run.returncode == 0, run.stderr
    assert "not gated" in run.stderr


@pytest.mark.parametrize(("change", "expected"), [
    (lambda lab: lab.drop(columns=["request_id"]), "no column 'request_id'"),
    (lambda lab: lab.assign(request_id="not-a-request"), "no label matches a captured prediction"),
    (lambda lab: lab.drop(columns=["target"]), "no column 'target'"),
    (lambda lab: lab.assign(target=lab["target"].where(lab.index != 4, 7)), "line 6, column 'target': '7' is not a class"),
    (lambda lab: lab.assign(target=lab["target"].astype(object).where(lab.index != 2, "yes")),
     "line 4, column 'target': 'yes' is not a class"),
])
def test_bad_labels_exit_2_located(project: Path, windows: tuple[Path, Path], change, expected: str,
                                   tmp_path: Path) -> None:
    work, labels = windows
    bad = tmp_path / "labels.csv"
    change(pd.read_csv(labels).head(143)).to_csv(bad, index=False)
    run = monitor(project, "--capture", str(only(work, [1])), "--labels", str(bad),
              "--out", str(tmp_path / "report"))
    assert run.returncode == 2, run.stderr
    assert str(bad) in run.stderr and expected in run.stderr
    assert not (tmp_path / "report").exists()  # nothing half-written


@pytest.mark.parametrize(("window", "expected"), [("banana", "not a duration"), ("nan", "not a duration"),
                                                  ("0s", "longer than zero"), ("-1h", "longer than zero"),
                                                  ("500ms", "shorter than a second")])
def test_window_that_makes_no_sense_exits_2(project: Path, windows: tuple[Path, Path], window: str,
                                            expected: str, tmp_path: Path) -> None:
    work, labels = windows
    run = monitor(project, "--capture", str(work / "capture"), "--labels", str(labels),
              "--window", window, "--out", str(tmp_path / "report"))
    assert run.returncode == 2 and f"--window {window!r}" in run.stderr and expected in run.stderr, run.stderr
    assert not (tmp_path / "report").exists()


def test_html_report_renders(project: Path, windows: tuple[Path, Path]) -> None:
    from tests.readiness.test_report_render import OVERLAPS
    from tests.support.browser import render

    work, labels = windows
    out = work / "report-html"
    monitor(project, "--capture", str(work / "capture"), "--labels", str(labels),
        "--out", str(out))
    shot = render(out / "monitor.html", {
        "svgs": "[...document.querySelectorAll('svg title')].map(t => t.textContent)",
        "verdict": "document.querySelector('.badge').className",
        "failing": "document.querySelector('.failures')?.textContent",
        "overflow": "document.documentElement.scrollWidth > document.documentElement.clientWidth",
        "overlaps": OVERLAPS,  # no chart label runs out of its chart or into another
    })
    assert shot.problems == [], shot.problems
    assert {"f1 per window", "auc per window", "drift.psi.max per window",
            "drift per feature (PSI)"} <= set(shot.values["svgs"])
    assert "failed" in shot.values["verdict"] and "drift.psi.max <= 0.25" in shot.values["failing"]
    assert shot.values["overflow"] is False and shot.values["overlaps"] == []


def test_parquet_labels_and_a_malformed_capture_line(project: Path, windows: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    work, labels = windows
    pq = tmp_path / "labels.parquet"
    pd.read_csv(labels).to_parquet(pq, index=False)
    run = monitor(project, "--capture", str(only(work, [1])), "--labels", str(pq), "--out", str(tmp_path / "ok"))
    assert run.returncode == 0, run.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text((work / "capture" / "in-1.jsonl").read_text() + '{"time": "no id"\n')
    run = monitor(project, "--capture", str(broken), "--labels", str(labels), "--out", str(tmp_path / "bad"))
    assert run.returncode == 2 and f"{broken}:2: not a capture record" in run.stderr, run.stderr
    assert not (tmp_path / "bad").exists()
    broken.write_bytes(b"\xff\xfe\x00garbage\n")
    run = monitor(project, "--capture", str(broken), "--labels", str(labels), "--out", str(tmp_path / "bad"))
    assert run.returncode == 2 and "not UTF-8 text" in run.stderr and "Traceback" not in run.stderr, run.stderr
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(b"PAR1\x00\x01")
    run = monitor(project, "--capture", str(only(work, [1])), "--labels", str(damaged), "--out", str(tmp_path / "bad"))
    assert run.returncode == 2 and f"{damaged}: not a readable label file" in run.stderr, run.stderr
    assert not (tmp_path / "bad").exists()


def test_regression_label_of_the_wrong_type_is_located(tmp_path: Path) -> None:
    """A regressor's label must be a number: the error names the file, line and column."""
    from mlready.engine.actions.monitor import MonitorInputError, MonitorInputs, joined_rows

    (tmp_path / "cap.jsonl").write_text(json.dumps(
        {"id": "r1", "time": HOUR.format(1), "rows": 2, "inputs": {"x": [1.0, 2.0]},
         "outputs": {"value": [1.5, 2.5]}}) + "\n")
    pd.DataFrame({"request_id": ["r1", "r1"], "row": [0, 1], "y": ["1.4", "lots"]}).to_csv(tmp_path / "l.csv",
                                                                                          index=False)
    inputs = MonitorInputs(task="regression", class_names=None, classes=None, features=["x"], target="y",
                           reference=pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0]}), gates=[], bins=10)
    with pytest.raises(MonitorInputError, match=r"l\.csv: line 3, column 'y': 'lots' is not a number"):
        joined_rows(tmp_path / "cap.jsonl", tmp_path / "l.csv", inputs)
    pd.DataFrame({"request_id": ["r1", "r1"], "row": [0, 1], "y": [1.4, 2.7]}).to_csv(tmp_path / "l.csv", index=False)
    frame, counts = joined_rows(tmp_path / "cap.jsonl", tmp_path / "l.csv", inputs)
    assert counts["used"] == 2 and list(frame["__pred"]) == [1.5, 2.5] and list(frame["__true"]) == [1.4, 2.7]


def test_a_capture_of_another_model_is_located_not_a_crash(tmp_path: Path) -> None:
    """Predictions captured with other classes (another model, or before the build named its classes): a raw
    class maps to its name; an unknown one is exit 2 naming the capture and request, never an internal error."""
    from mlready.engine.actions.monitor import MonitorInputError, MonitorInputs, joined_rows

    def capture(labels: list) -> None:
        (tmp_path / "cap.jsonl").write_text(json.dumps(
            {"id": "r1", "model": "other", "version": "3", "time": HOUR.format(1), "rows": 2,
             "inputs": {"x": [1.0, 2.0]}, "outputs": {"label": labels}}) + "\n")

    pd.DataFrame({"request_id": ["r1", "r1"], "row": [0, 1], "y": ["benign", "malignant"]}).to_csv(
        tmp_path / "l.csv", index=False)
    inputs = MonitorInputs(task="classification", class_names=["malignant", "benign"], classes=["0", "1"],
                           features=["x"], target="y", reference=pd.DataFrame({"x": [1.0], "y": [0]}), gates=[],
                           bins=10)
    capture(["0", "1"])  # captured before the build named the classes: the raw classes map to the names
    frame, _ = joined_rows(tmp_path / "cap.jsonl", tmp_path / "l.csv", inputs)
    assert list(frame["__pred"]) == ["malignant", "benign"]
    capture(["cat", "dog"])
    with pytest.raises(MonitorInputError, match=r"cap\.jsonl: request 'r1' \(model 'other', version '3'\): the "
                                                r"captured prediction 'cat' is not a class"):
        joined_rows(tmp_path / "cap.jsonl", tmp_path / "l.csv", inputs)


def test_a_regressor_passes_on_its_values_and_fails_on_shifted_ones(tmp_path_factory: pytest.TempPathFactory,
                                                                   tmp_path: Path) -> None:
    """examples/regression built and scored for real: true values pass mae/r2, values off by 200 fail both."""
    from mlready.engine import api

    project = tmp_path_factory.mktemp("monitor-regression") / "project"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "regression", project,
                    ignore=shutil.ignore_patterns("build", ".mlready"))
    mp = pytest.MonkeyPatch()
    mp.setenv("MLREADY_CACHE_DIR", str(tmp_path_factory.mktemp("monitor-regression-cache")))
    try:
        api.build(project, [], out=project / "build")
    finally:
        mp.undo()
    ev = pd.read_csv(project / "data" / "eval.csv")
    ev.drop(columns=["progression"]).to_csv(tmp_path / "in.csv", index=False)
    run = cli("score", "-C", str(project), "-i", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"),
              "--capture", str(tmp_path / "cap.jsonl"))
    assert run.returncode == 0, run.stderr
    (record,) = [json.loads(line) for line in (tmp_path / "cap.jsonl").read_text().splitlines()]
    for name, shift, code in (("true", 0.0, 0), ("shifted", 200.0, 1)):
        labels = pd.DataFrame({"request_id": record["id"], "row": range(len(ev)),
                               "progression": ev["progression"] + shift})
        labels.to_csv(tmp_path / f"{name}.csv", index=False)
        run = cli("monitor", "-C", str(project), "--capture", str(tmp_path / "cap.jsonl"), "--labels",
                  str(tmp_path / f"{name}.csv"), "--out", str(tmp_path / name))
        assert run.returncode == code, run.stderr
        (w,) = json.loads((tmp_path / name / "monitor.json").read_text())["windows"]
        assert {g["gate"] for g in w["gates"]} == {"r2 >= 0.30", "mae <= 50"}
        failed = {g["gate"] for g in w["gates"] if not g["passed"]}
        assert failed == (set() if code == 0 else {"r2 >= 0.30", "mae <= 50"}), w


def test_request_ids_are_text(project: Path, windows: tuple[Path, Path], tmp_path: Path) -> None:
    """A client's X-Request-Id "00042" joins its label: the CSV's ids are not read as numbers."""
    work, labels = windows
    record = json.loads((work / "capture" / "in-1.jsonl").read_text())
    old_id, record["id"] = record["id"], "00042"
    (tmp_path / "cap.jsonl").write_text(json.dumps(record) + "\n")
    lab = pd.read_csv(labels, dtype={"request_id": str})
    lab[lab["request_id"] == old_id].assign(request_id="00042").to_csv(tmp_path / "labels.csv", index=False)
    run = monitor(project, "--capture", str(tmp_path / "cap.jsonl"), "--labels", str(tmp_path / "labels.csv"),
                  "--out", str(tmp_path / "report"))
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "report" / "monitor.json").read_text())["join"]["used"] == 143
