"""Champion/challenger gates: ``readiness.compare_to: models:/name@alias`` and ``f1 >= champion.f1 - 0.005``.

The champion is a real registered version in the project's embedded MLflow store (registered by a real build),
scored by the same code on the same evaluation rows as the model being built.
"""

from __future__ import annotations

import json

import pytest
from mlready.engine import api
from mlready.engine.errors import BuildFailed
from mlready.generators._shared.gates import (
    GateResult,
    check_gates,
    eval_catalogue,
    gate_table,
    parse_gate,
    sample_catalogue,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

CATALOGUE = eval_catalogue()


@pytest.fixture(autouse=True)
def _no_ambient_tracking(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLREADY_TRACKING", raising=False)


@pytest.mark.parametrize(
    ("text", "champion", "offset"),
    [
        ("f1 >= champion.f1 - 0.005", "f1", -0.005),
        ("f1>=champion.f1-0.005", "f1", -0.005),
        ("rmse <= champion.rmse + 1.5", "rmse", 1.5),
        ("accuracy >= champion.accuracy", "accuracy", 0.0),
        ("cv.f1.mean >= champion.f1", "f1", 0.0),
    ],
)
def test_champion_gate_parses(text, champion, offset):
    gate = parse_gate(text, CATALOGUE)
    assert (gate.champion, gate.threshold) == (champion, offset)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("f1 >= champion.f1 - x", "offset 'x' is not a number"),
        ("f1 >= champion.f1 * 2", "neither a number nor 'champion.<metric> [+|- <number>]'"),
        ("f1 >= champion.parity.agreement", "the champion is scored on the evaluation data only"),
        ("f1 >= champion.f1 - inf", "offset must be a finite number"),
        ("f1 >= 0.9 0.1", "threshold '0.9 0.1' is not a number"),
    ],
)
def test_bad_champion_bounds_say_what_is_wrong(text, message):
    with pytest.raises(ValueError) as info:
        parse_gate(text, CATALOGUE)
    assert message in str(info.value)


def test_check_and_table_side_by_side():
    gates = [parse_gate("f1 >= champion.f1 - 0.005", CATALOGUE), parse_gate("f1 >= 0.5", CATALOGUE)]
    ok, plain = check_gates(gates, {"f1": 0.93}, {}, {"f1": 0.934})
    assert ok.passed and ok.bound == pytest.approx(0.929) and ok.champion == 0.934
    assert plain.passed and plain.bound == 0.5
    (worse,) = check_gates(gates[:1], {"f1": 0.92}, {}, {"f1": 0.934})
    assert not worse.passed
    table = gate_table([worse])
    assert "champion" in table.splitlines()[0]
    assert "0.9200  0.9340    >= 0.9290 (champion.f1 - 0.005)  FAIL" in table
    # the JSON round-trips (the failed build's table is rebuilt from the report)
    assert GateResult.from_json(worse.to_json()) == worse


def test_champion_gate_without_a_champion_fails_with_the_reason():
    gate = parse_gate("f1 >= champion.f1", CATALOGUE)
    (r,) = check_gates([gate], {"f1": 0.99}, {}, None, {"": "no champion: readiness.compare_to is not set"})
    assert not r.passed and r.reason == "no champion: readiness.compare_to is not set"
    assert r.to_json()["threshold"] is None
    (r,) = check_gates([gate], {"f1": 0.99}, {}, {"f1": None}, {"f1": "undefined: one class"})
    assert not r.passed and r.reason == "the champion's f1: undefined: one class"
    assert "f1      0.9900  undefined  >= champion.f1  FAIL" in gate_table([r])


def test_spec_errors_name_the_key(cancer_project, h):
    root = cancer_project("readiness:\n  gates: ['f1 >= champion.f1 - 0.005']\n")
    (problem,) = h.spec_problems(root)
    assert "readiness.gates.0" in problem and "set readiness.compare_to" in problem

    root = cancer_project("readiness:\n  compare_to: champion\n")
    (problem,) = h.spec_problems(root)
    assert "readiness.compare_to" in problem and "write models:/<name>@<alias>" in problem

    root = cancer_project(
        "  sample: data/eval.csv\nreadiness:\n  compare_to: models:/demo@champion\n"
        "  sample:\n    gates: ['accuracy >= champion.accuracy']\n"
    )
    (problem,) = h.spec_problems(root)
    assert "readiness.sample.gates.0" in problem and "move this gate to readiness.gates" in problem
    assert "accuracy >= champion.accuracy" not in sample_catalogue()


def _worse(cancer) -> bytes:
    """A challenger that sees two of the 30 features (the others zeroed): clearly worse than the champion."""
    feats = cancer["features"]
    train = cancer["train"][feats].copy()
    train[feats[2:]] = 0.0
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(train, cancer["train"]["target"])
    return _dump(model)


def _dump(model) -> bytes:
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(model, buf)
    return buf.getvalue()


CHAMPION_GATES = (
    "readiness:\n  cv: {folds: 0}\n  compare_to: models:/demo@champion\n"
    "  gates: ['f1 >= champion.f1 - 0.005', 'accuracy >= 0.8']\n"
)


@pytest.mark.slow
def test_challenger_against_the_registered_champion(cancer_project, cancer, h):
    """A build registers version 1; promoted, it is the champion. A worse challenger is refused with the table
    side by side (and not registered); an equal one passes and the report shows both models' metrics."""
    root = cancer_project("readiness:\n  cv: {folds: 0}\n")
    api.build(root, [])  # tracking on: the build registers its served model as version 1 of 'demo'
    assert api.promote(root, "demo", 1).describe() == "demo@champion: nothing -> version 1"

    (root / "deploy.yaml").write_text(h.deploy(CHAMPION_GATES))
    (root / "model.joblib").write_bytes(_worse(cancer))
    with pytest.raises(BuildFailed) as info:
        api.build(root, [])
    text = str(info.value)
    assert "readiness: 1 of 2 gates failed" in text
    assert "metric    value   champion  threshold" in text
    row = next(line for line in text.splitlines() if "champion.f1 - 0.005" in line)
    assert row.rstrip().endswith("FAIL")
    failed = h.failed_report(root)
    assert failed["champion"]["uri"] == "models:/demo@champion" and failed["champion"]["version"] == "1"
    assert failed["gates"][0]["champion"]["value"] > failed["gates"][0]["value"] + 0.005

    (root / "model.joblib").write_bytes(cancer["joblib"])  # the champion's own model: equal, so it passes
    result = api.build(root, [])
    report = h.report(root)
    assert report["status"] == "passed"
    assert report["champion"]["metrics"]["f1"] == report["eval"]["metrics"]["f1"]
    assert report["gates"][0]["champion"] == {"metric": "f1", "value": report["champion"]["metrics"]["f1"],
                                              "offset": -0.005}
    html = (root / "build" / "reports" / "readiness.html").read_text()
    assert "Champion: side by side on the same data" in html and "models:/demo@champion" in html
    assert any("same model as registry version 1" in n for n in result.notes)


@pytest.mark.slow
def test_a_champion_alias_that_does_not_exist_is_an_error_at_the_key(cancer_project, h):
    root = cancer_project("readiness:\n  cv: {folds: 0}\n")
    api.build(root, [])
    (root / "deploy.yaml").write_text(h.deploy(CHAMPION_GATES.replace("@champion", "@prod")))
    with pytest.raises(BuildFailed) as info:
        api.build(root, [])
    message = str(info.value)
    assert "deploy.yaml:" in message and "readiness.compare_to: model 'demo' has no alias 'prod'; " \
        "aliases: (none); versions: 1" in message
    assert json.loads((root / "build" / "reports" / "readiness.json").read_text())["status"] == "no gates"
