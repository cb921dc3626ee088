"""Spec -> MLflow params, report -> metrics; and the lifecycle modules import nothing heavy."""

from __future__ import annotations

import subprocess
import sys

from mlready.engine.lifecycle.flatten import flat_params, numeric_leaves, redact


def test_params_are_dotted_strings_with_secrets_redacted():
    spec = {
        "project": {"name": "x", "version": "1.10"},
        "serving": {"replicas": 2, "labels": {"app.kubernetes.io/name": "x", "team:ml": "a"}, "ports": [80, 81]},
        "registry": {"password": "hunter2", "api_key": "k", "token": None, "user": "bob"},
        "empty": {},
    }
    params = flat_params(spec)
    assert params == {
        "empty": "{}",
        "project.name": "x",
        "project.version": "1.10",
        "registry.api_key": "***",
        "registry.password": "***",
        "registry.token": "null",
        "registry.user": "bob",
        "serving.labels.app.kubernetes.io/name": "x",
        "serving.labels.team_ml": "a",
        "serving.ports": "[80, 81]",
        "serving.replicas": "2",
    }
    assert "hunter2" not in repr(redact(spec))


def test_long_values_are_cut_to_mlflows_limit():
    assert len(flat_params({"a": "x" * 10_000})["a"]) == 6000


def test_metrics_are_finite_numbers_of_nested_dicts():
    report = {"eval": {"metrics": {"accuracy": 0.9, "auc": float("nan")}, "rows": 143, "data": "e.csv"},
              "passed": True, "per_fold": [{"accuracy": 1.0}], "summary": {"gates": 2}}
    assert numeric_leaves(report, "readiness") == {
        "readiness.eval.metrics.accuracy": 0.9,
        "readiness.eval.rows": 143.0,
        "readiness.summary.gates": 2.0,
    }


def test_lifecycle_modules_and_generators_do_not_import_mlflow_or_cookiecutter():
    code = (
        "import sys\n"
        "import mlready.engine.lifecycle.tracking, mlready.engine.lifecycle.registry\n"
        "import mlready.engine.lifecycle.promote, mlready.engine.lifecycle.scaffold\n"
        "import mlready.generators.tracking, mlready.generators.dvc, mlready.engine.commands.promote\n"
        "import mlready.engine.commands.new\n"
        "print(sorted(m for m in ('mlflow', 'cookiecutter', 'sqlalchemy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[]\n"
