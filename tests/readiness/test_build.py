"""Real builds: model.ingest + model.readiness on real data; gates pass, fail, and stay undefined honestly."""

from __future__ import annotations

import numpy as np
import pytest
from mlready.engine.cli import main
from mlready.engine.manifest import Manifest

GATES = """
readiness:
  gates: ["f1 >= 0.9", "auc >= 0.95", "cv.f1.std <= 0.05", "parity.agreement >= 0.999"]
  cv: {folds: 3, seed: 1}
"""


def test_build_evaluates_cross_validates_and_writes_both_reports(cancer_project, h):
    root = cancer_project(GATES)
    result = h.build(root)
    rec = {r.id: r for r in result.records}["model.readiness"]
    assert sorted((a.path, a.kind) for a in rec.artifacts) == [
        ("reports/readiness.html", "readiness-report"),
        ("reports/readiness.json", "readiness-report"),
    ]
    report = h.report(root)
    assert report["status"] == "passed"
    assert report["summary"] == {"gates": 4, "passed": 4, "failed": 0}
    assert report["model"]["kind"] == "sklearn Pipeline" and report["model"]["classes"] == [0, 1]
    assert report["eval"]["rows"] == 171 and report["eval"]["data"] == "data/eval.csv"
    assert report["eval"]["metrics"]["accuracy"] > 0.95
    assert report["cv"]["data"] == "data/train.csv" and len(report["cv"]["per_fold"]) == 3
    assert report["parity"]["metrics"]["parity.agreement"] == 1.0
    assert report["sample"]["skipped"] == "no sample: data.sample is not set"
    assert any("skl2onnx" in note for note in report["notes"])  # what loading the source did
    manifest = Manifest.load(root / "build")
    assert "readiness-report" in {a.kind for a in manifest.artifacts if a.path == "reports/readiness.json"}


def test_reports_are_deterministic_and_cached(cancer_project, h, tmp_path):
    root = cancer_project(GATES)
    h.build(root)
    first = {p: (root / "build" / "reports" / p).read_bytes() for p in ("readiness.json", "readiness.html")}
    # a fresh cache: the step runs again and must produce the same bytes
    result = h.build(root, ["readiness.cv.seed=1"])
    assert {r.id: r.cache for r in result.records}["model.readiness"] == "hit"
    (tmp_path / "cache").rename(tmp_path / "old-cache")
    result = h.build(root)
    assert {r.id: r.cache for r in result.records}["model.readiness"] == "miss"
    assert {p: (root / "build" / "reports" / p).read_bytes() for p in first} == first


def test_impossible_gate_fails_the_build_with_the_gate_table(cancer_project, h):
    root = cancer_project(GATES)
    text = h.build_fails(root, ['readiness.gates=["f1 >= 0.9999", "auc >= 0.5"]'])
    # the report named is the kept one (the build dir is left as it was): .mlready/failed-build/reports/...
    failed_html = root / ".mlready" / "failed-build" / "reports" / "readiness.html"
    assert f"step model.readiness failed: readiness: 1 of 2 gates failed (see {failed_html})" in text
    assert "    gates on data/eval.csv:" in text
    assert "    metric  value   threshold  result" in text
    assert "    f1      0.9" in text and ">= 0.9999  FAIL" in text
    assert ">= 0.5     pass" in text
    kept = h.failed_report(root)
    assert kept["status"] == "failed"
    assert [g["passed"] for g in kept["gates"]] == [False, True]
    page = (root / ".mlready" / "failed-build" / "reports" / "readiness.html").read_text()
    assert "<b>Failed gates</b><ul><li><b>f1</b> 0.9" in page and "(needs &gt;= 0.9999)</li></ul>" in page


def test_cli_exit_code_1_and_table_for_a_failed_gate(cancer_project, capsys):
    root = cancer_project('readiness:\n  gates: ["accuracy >= 0.999"]\n  cv: {folds: 0}\n')
    from mlready.engine.registry import generators

    generators.cache_clear()
    rc = main(["build", "-C", str(root)])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "accuracy  0.9" in err and ">= 0.999   FAIL" in err, err
    assert "Traceback" not in err and "internal error" not in err


def test_without_eval_data_nothing_is_evaluated_and_gates_fail(cancer_project, h):
    root = cancer_project('readiness:\n  gates: ["f1 >= 0.9"]\n  cv: {folds: 0}\n')
    (root / "deploy.yaml").write_text(
        h.deploy('readiness:\n  gates: ["f1 >= 0.9"]\n  cv: {folds: 0}\n', data="")
    )
    text = h.build_fails(root)
    assert "f1      undefined  >= 0.9     FAIL" in text
    assert "f1: no evaluation data: data.eval is not set, so nothing was evaluated" in text
    report = h.failed_report(root)
    assert report["eval"] == {
        "data": None,
        "skipped": "no evaluation data: data.eval is not set, so nothing was evaluated",
    }
    assert "metrics" not in report["eval"]


def test_without_gates_the_report_says_so_and_the_build_passes(cancer_project, h):
    root = cancer_project("readiness:\n  cv: {folds: 0}\n")
    h.build(root)
    report = h.report(root)
    assert report["status"] == "no gates" and report["gates"] == []
    assert report["cv"] == {"skipped": "cross-validation is off (readiness.cv.folds: 0)"}


def test_undefined_metric_on_a_one_class_sample_fails_its_gate_with_the_reason(cancer_project, cancer, h):
    sample = cancer["eval"][cancer["eval"]["target"] == 1]
    root = cancer_project(
        'readiness:\n  cv: {folds: 0}\n  sample:\n    gates: ["accuracy >= 0.5", "auc >= 0.5", "drift.psi.max <= 5"]\n',
        data__sample_csv=h.csv(sample),
    )
    text = (
        (root / "deploy.yaml")
        .read_text()
        .replace("  eval: data/eval.csv\n", "  eval: data/eval.csv\n  sample: data/sample.csv\n")
    )
    (root / "deploy.yaml").write_text(text)
    out = h.build_fails(root)
    assert "gates on data/sample.csv:" in out
    assert "auc: only one class present in the data (class 0 absent)" in out
    report = h.failed_report(root)
    sample_gates = {g["metric"]: g for g in report["sample"]["gates"]}
    assert sample_gates["accuracy"]["passed"] and sample_gates["drift.psi.max"]["passed"]
    assert sample_gates["auc"]["value"] is None and not sample_gates["auc"]["passed"]
    assert report["sample"]["reference"] == "data/train.csv"
    assert len(report["sample"]["checks"]["features"]) == 30


def test_unlabelled_sample_with_missing_values_gets_data_checks_only(cancer_project, cancer, h):
    sample = cancer["eval"].drop(columns="target").copy()
    sample.iloc[:4, 0] = np.nan
    root = cancer_project(
        'readiness:\n  cv: {folds: 0}\n  sample:\n    gates: ["data.missing_rate.max <= 0.01"]\n',
        data__sample_csv=h.csv(sample),
    )
    text = (
        (root / "deploy.yaml")
        .read_text()
        .replace("  eval: data/eval.csv\n", "  eval: data/eval.csv\n  sample: data/sample.csv\n")
    )
    (root / "deploy.yaml").write_text(text)
    out = h.build_fails(root)
    assert "data.missing_rate.max  0.0234" in out
    report = h.failed_report(root)
    assert (
        report["sample"]["skipped"] == "the sample has no target column 'target': model metrics not computed"
    )
    assert report["sample"]["checks"]["features"][0]["missing_rate"] == pytest.approx(4 / 171, rel=1e-4)


def test_regression_project(project, diabetes, h):
    root = project(
        {
            "model.joblib": diabetes["joblib"],
            "data/train.csv": h.csv(diabetes["train"]),
            "data/eval.csv": h.csv(diabetes["eval"]),
            "deploy.yaml": h.deploy(
                'readiness:\n  gates: ["r2 >= 0.3", "cv.rmse.mean <= 70", "parity.max_abs_diff <= 0.01"]\n  cv: {folds: 3}\n'
            ),
        }
    )
    h.build(root)
    report = h.report(root)
    assert report["model"]["task"] == "regression" and report["status"] == "passed"
    assert set(report["eval"]["metrics"]) == {"mae", "rmse", "r2"}
    assert report["parity"]["undefined"] == {
        "parity.agreement": "label agreement is defined for classifiers only"
    }
    assert report["eval"]["confusion"] is None


def test_multiclass_with_an_array_fitted_model(project, iris, h):
    root = project(
        {
            "model.joblib": iris["joblib"],
            "data/train.csv": h.csv(iris["train"]),
            "data/eval.csv": h.csv(iris["eval"]),
            "deploy.yaml": h.deploy(
                'readiness:\n  gates: ["f1_macro >= 0.8", "cv.accuracy.mean >= 0.8"]\n  cv: {folds: 3}\n'
            ),
        }
    )
    h.build(root)
    report = h.report(root)
    assert report["status"] == "passed"
    assert report["model"]["classes"] == [0, 1, 2]
    assert len(report["eval"]["confusion"]["matrix"]) == 3 and len(report["eval"]["roc"]) == 3


def test_onnx_file_is_evaluated_without_parity_or_cv(project, iris, h):
    from skl2onnx import to_onnx

    model = iris["model"]
    onx = to_onnx(
        model, np.zeros((1, 4), np.float32), options={id(model): {"zipmap": False}}, target_opset=17
    )
    root = project(
        {
            "model.onnx": onx.SerializeToString(),
            "data/train.csv": h.csv(iris["train"]),
            "data/eval.csv": h.csv(iris["eval"]),
            "deploy.yaml": h.deploy(
                'readiness:\n  gates: ["auc >= 0.9", "parity.agreement >= 0.99"]\n'
            ).replace("model.joblib", "model.onnx"),
        }
    )
    out = h.build_fails(root)
    assert "parity.agreement: no source model to compare with (the source is the ONNX file itself)" in out
    report = h.failed_report(root)
    # classes come from the probability columns: one-vs-rest AUC is defined for all three
    assert report["eval"]["metrics"]["auc"] > 0.9 and len(report["eval"]["roc"]) == 3
    assert report["cv"]["skipped"].startswith(
        "no estimator or trainer to refit: the onnx model cannot be retrained"
    )


def test_readiness_can_be_switched_off(cancer_project, h):
    root = cancer_project('readiness:\n  enabled: false\n  gates: ["f1 >= 0.9999"]\n')
    result = h.build(root)
    assert "model.readiness" not in {r.id for r in result.records}
    assert not (root / "build" / "reports").exists()


def test_without_training_data_cv_runs_on_the_eval_data(cancer_project, h):
    root = cancer_project()
    gates = 'readiness:\n  gates: ["cv.accuracy.mean >= 0.9"]\n  cv: {folds: 3}\n'
    (root / "deploy.yaml").write_text(h.deploy(gates, data="  eval: data/eval.csv\n"))
    h.build(root)
    report = h.report(root)
    assert report["cv"]["data"] == "data/eval.csv" and report["cv"]["rows"] == 171
    assert report["status"] == "passed"


def test_declared_inputs_must_match_the_served_signature(cancer_project, h):
    root = cancer_project("readiness:\n  cv: {folds: 0}\n")
    model = "  source: model.joblib\n"
    declared = model + "  inputs: [{name: input, datatype: FP32, shape: [-1, 30]}]\n"
    (root / "deploy.yaml").write_text((root / "deploy.yaml").read_text().replace(model, declared))
    h.build(root)
    wrong = model + "  inputs: [{name: input, datatype: FP64, shape: [1, 30]}]\n"
    (root / "deploy.yaml").write_text((root / "deploy.yaml").read_text().replace(declared, wrong))
    out = h.build_fails(root)
    assert "model.readiness: the served model's inputs differ from model.inputs" in out
    assert "model.inputs[0] 'input': datatype FP64, served FP32" in out
    assert "model.inputs[0] 'input': shape [1, 30], served [-1, 30]" in out


def test_signature_checks_unit():
    from mlready.generators.readiness.signature_check import fixed_batch_notes, signature_problems

    served = [{"name": "x", "datatype": "FP32", "shape": [1, 4]}]
    assert signature_problems(None, served) == []
    assert signature_problems([{"name": "y", "datatype": "FP32", "shape": [1, 4]}], served) == [
        "input names: model.inputs declares ['y'], the served model has ['x']"
    ]
    assert fixed_batch_notes(served) == [
        "input 'x' has a fixed batch dimension ([1, 4]); the server cannot batch requests"
    ]
