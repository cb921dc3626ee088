"""Gates are checked when the spec is read: an unknown metric (with a did-you-mean), a gate in the wrong list and,
once the task is known, a metric the task does not produce are located errors that list the valid metrics.

``model.task: auto`` is decided when the model is loaded: ``mlready validate`` checks the gates against both tasks'
metrics, and the build checks them against the task as soon as model.ingest has decided it, before the
(expensive) assessment runs."""

from __future__ import annotations

import pytest

CLASSIFICATION = ("accuracy, precision, recall, f1, auc, precision_macro, recall_macro, f1_macro, "
                  "precision_weighted, recall_weighted, f1_weighted")
EVAL_PATTERNS = "cv.<metric>.mean, cv.<metric>.std; parity.agreement, parity.max_abs_diff"
ALL_EVAL = f"{CLASSIFICATION}, mae, rmse, r2; {EVAL_PATTERNS}"


def gates(*texts: str, sample: tuple[str, ...] = ()) -> str:
    out = "readiness:\n  gates:\n" + "".join(f'    - "{t}"\n' for t in texts)
    if sample:
        out += "  sample:\n    gates:\n" + "".join(f'      - "{t}"\n' for t in sample)
    return out


@pytest.mark.parametrize(("gate", "message"), [
    ("F1 >= 0.9", f"'F1 >= 0.9': unknown metric 'F1' (did you mean 'f1'?); valid metrics: {ALL_EVAL}"),
    ("fscore >= 0.9", f"'fscore >= 0.9': unknown metric 'fscore' (did you mean 'f1'?); valid metrics: {ALL_EVAL}"),
    ("cv.f1 <= 0.1", f"'cv.f1 <= 0.1': unknown metric 'cv.f1' (did you mean 'cv.f1.mean'?); valid metrics: "
                     f"{ALL_EVAL}"),
    ("drift.psi.max <= 0.2", "'drift.psi.max <= 0.2': drift.psi.max is measured on the real-world sample "
                             "(data.sample) only: move this gate to readiness.sample.gates"),
])
def test_a_bad_metric_is_a_located_spec_error_with_a_hint(cancer_project, h, gate: str, message: str) -> None:
    root = cancer_project(gates("accuracy >= 0.9", gate))
    assert h.spec_problems(root) == [f"deploy.yaml:11 readiness.gates.1: {message}"]


def test_a_threshold_that_makes_no_sense_is_a_located_spec_error(cancer_project, h) -> None:
    root = cancer_project(gates("accuracy >= 0.9", "f1 >= 1.5"))
    assert h.spec_problems(root) == [
        "deploy.yaml:11 readiness.gates.1: 'f1 >= 1.5': f1 is never >= 1.5 (its values are 0..1): the gate could "
        "never pass"]


def test_an_eval_only_gate_in_the_sample_list(cancer_project, h) -> None:
    root = cancer_project(gates("accuracy >= 0.9", sample=("parity.agreement >= 0.99",)))
    assert h.spec_problems(root, ["data.sample=data/eval.csv"]) == [
        "deploy.yaml:13 readiness.sample.gates.0: 'parity.agreement >= 0.99': parity.agreement is measured on "
        "the evaluation data only: move this gate to readiness.gates"]


def test_with_the_task_in_the_spec_a_regression_metric_on_a_classifier_fails_validate(cancer_project, h) -> None:
    root = cancer_project(gates("rmse <= 0.5"))
    assert h.spec_problems(root, ["model.task=classification"]) == [
        f"deploy.yaml:10 readiness.gates.0: 'rmse <= 0.5': rmse is not a classification metric; valid metrics: "
        f"{CLASSIFICATION}; {EVAL_PATTERNS}"]


def test_with_task_auto_the_build_checks_the_gates_once_the_model_is_loaded(cancer_project, h) -> None:
    from mlready.engine import api

    root = cancer_project(gates("f1 >= 0.9", "rmse <= 0.5", "cv.r2.mean >= 0.5"))
    api.validate(root, [])  # auto: rmse and r2 are metrics of regressors
    message = h.build_fails(root)
    assert ("step model.readiness failed: readiness: 2 gates in the spec name a metric this classification "
            "model does not produce (set model.task: classification to have `mlready validate` catch this)\n"
            "    deploy.yaml:11 readiness.gates.1: 'rmse <= 0.5': rmse is a regression metric, but this is a classification "
            f"model; valid metrics for classification: {CLASSIFICATION}; {EVAL_PATTERNS}\n"
            "    deploy.yaml:12 readiness.gates.2: 'cv.r2.mean >= 0.5': r2 is a regression metric, but this is a classification "
            f"model; valid metrics for classification: {CLASSIFICATION}; {EVAL_PATTERNS}\n") in message
