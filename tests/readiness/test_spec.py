"""Bad readiness config is a spec error (exit 2) naming the key, found before anything runs."""

from __future__ import annotations

from mlready.engine.cli import main

VALID = "accuracy, precision, recall, f1, auc, precision_macro, recall_macro, f1_macro"


def test_unknown_metric_names_the_key_and_lists_valid_metrics(cancer_project, h):
    root = cancer_project('readiness:\n  gates:\n    - "f1 >= 0.9"\n    - "f2 >= 0.9"\n')
    [problem] = h.spec_problems(root)
    assert problem.startswith("deploy.yaml:") and " readiness.gates.1: " in problem
    assert "unknown metric 'f2'" in problem and VALID in problem and "mae, rmse, r2" in problem


def test_bad_operator_and_bad_number_are_both_reported(cancer_project, h):
    root = cancer_project('readiness:\n  gates: ["f1 => 0.9", "auc >= high"]\n')
    problems = h.spec_problems(root)
    assert len(problems) == 2
    assert (
        "readiness.gates.0" in problems[0]
        and "unknown operator '=>'; use one of >=, <=, >, <, ==" in problems[0]
    )
    assert "readiness.gates.1" in problems[1] and "threshold 'high' is not a number" in problems[1]


def test_task_mismatch_cv_off_and_missing_sample_are_spec_errors(cancer_project, h):
    root = cancer_project(
        'readiness:\n  gates: ["rmse <= 3", "cv.f1.std <= 0.1"]\n  cv: {folds: 0}\n'
        '  sample:\n    gates: ["drift.psi.max <= 0.2"]\n'
    )
    text = (
        (root / "deploy.yaml")
        .read_text()
        .replace("  source: model.joblib\n", "  source: model.joblib\n  task: classification\n")
    )
    (root / "deploy.yaml").write_text(text)
    problems = h.spec_problems(root)
    assert any("readiness.gates.0: 'rmse <= 3': rmse is not a classification metric" in p for p in problems)
    assert any(
        "readiness.gates.1: 'cv.f1.std <= 0.1' needs cross-validation, but readiness.cv.folds is 0" in p
        for p in problems
    )
    assert any("readiness.sample.gates: sample gates need data.sample" in p for p in problems)


def test_one_fold_is_refused(cancer_project, h):
    root = cancer_project("readiness:\n  cv: {folds: 1}\n")
    [problem] = h.spec_problems(root)
    assert "readiness.cv.folds" in problem and "at least 2 folds (0 turns it off)" in problem


def test_cli_exits_2_for_a_bad_gate_override(cancer_project, capsys):
    root = cancer_project()
    from mlready.engine.registry import generators

    generators.cache_clear()
    rc = main(["build", "-C", str(root), 'readiness.gates=["precision >= 0.9", "recal >= 0.9"]'])
    err = capsys.readouterr().err
    assert rc == 2
    assert "readiness.gates.1" in err and "unknown metric 'recal'" in err
    assert not (root / "build").exists()
