"""examples/keras as a newcomer ships it: built with ``+target=[docker,k8s]``, its image built and smoke-tested on
the podman harness, then asked by feature name (TF Serving rows and the v2 protocol) — the answers name the
classes and match the Keras model itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlready.generators.model.tf_convert import import_tf

from tests.docker.conftest import BASE
from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures)
from tests.support.example_image import build_example_image, check_named_answers

pytestmark = [pytest.mark.container, pytest.mark.slow]
import_tf()  # as a build imports it (the tensorflow extra is part of the setup: missing, this fails)
import keras  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "keras"


@pytest.fixture(scope="module")
def example(tmp_path_factory, docker_client, base_image):  # noqa: F811
    return build_example_image(tmp_path_factory, EXAMPLE, BASE)


def test_keras_example_image_answers_named_features_with_class_names(example, docker_client):  # noqa: F811
    project, report = example
    assert report.smoke is not None and report.smoke.max_abs_diff < 1e-4
    assert (project / "build" / "k8s" / "base" / "kustomization.yaml").is_file()
    # every feature of the model is FP32 (its one input): the integer columns (magnesium, proline) are sent as numbers
    rows = pd.read_csv(project / "data" / "eval.csv").drop(columns="target").head(5).astype(np.float64)
    expected = keras.saving.load_model(project / "model.keras").predict(rows.to_numpy(np.float32), verbose=0)
    check_named_answers(docker_client, report.id, "wine-keras", rows, expected, ["barolo", "grignolino", "barbera"])
