"""examples/lightgbm as a newcomer ships it: built with ``+target=[docker,k8s]`` (its gates pass), its image built
and smoke-tested on the podman harness, then asked by feature name — the answers name the classes and match
LightGBM itself on the native model file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.docker.conftest import BASE
from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures)
from tests.support.example_image import build_example_image, check_named_answers

pytestmark = [pytest.mark.container, pytest.mark.slow]
lgb = pytest.importorskip("lightgbm")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lightgbm"


@pytest.fixture(scope="module")
def example(tmp_path_factory, docker_client, base_image):  # noqa: F811
    return build_example_image(tmp_path_factory, EXAMPLE, BASE)


def test_lightgbm_example_image_answers_named_features_with_class_names(example, docker_client):  # noqa: F811
    project, report = example
    assert report.smoke is not None and report.smoke.max_abs_diff < 1e-4
    assert (project / "build" / "k8s" / "base" / "kustomization.yaml").is_file()
    readiness = json.loads((project / "build" / "reports" / "readiness.json").read_text())
    assert readiness["status"] == "passed"  # accuracy, AUC, CV spread and parity gates
    rows = pd.read_csv(project / "data" / "eval.csv").drop(columns="target").head(6)
    assert set(rows["contract"]) <= {"month-to-month", "one-year", "two-year"}  # sent as text
    table = rows.assign(contract=pd.Categorical(rows["contract"], categories=["month-to-month", "one-year",
                                                                              "two-year"]))
    churn = lgb.Booster(model_file=str(project / "model.txt")).predict(table)  # P(churns)
    check_named_answers(docker_client, report.id, "churn-lightgbm", rows, np.column_stack([1 - churn, churn]),
                        ["stays", "churns"])
