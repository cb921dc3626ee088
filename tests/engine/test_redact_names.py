"""``serving.capture.redact`` / ``drop`` must name features or outputs of the served model: a misspelt name would
record the field it was meant to hide, in clear, in every capture record. Known once the model is ingested: the
runtime config step refuses it, located, with a did-you-mean, and the build dir is left as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mlready.engine import api
from mlready.engine.errors import BuildFailed

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
ON = ["serving.capture.enabled=true"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("redact") / "quickstart"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns("build", ".mlready"))
    spec = (root / "deploy.yaml").read_text()
    (root / "deploy.yaml").write_text(spec.split("\nreadiness:\n")[0] + "\n")  # the gates are not the point
    return root


def test_a_misspelt_redacted_feature_fails_the_build_naming_key_and_suggestion(project):
    api.build(project, [*ON, "serving.capture.redact=[mean_radius]"], run_hooks=False)
    before = (project / "build" / "runtime" / "config.json").read_bytes()
    with pytest.raises(BuildFailed) as info:
        api.build(project, [*ON, "serving.capture.redact=[mean_radiu]"], run_hooks=False)
    message = str(info.value)
    assert "serving.capture.redact: 'mean_radiu' is no feature or output of the model" in message
    assert "did you mean 'mean_radius'?" in message and "override 'serving.capture.redact=[mean_radiu]'" in message
    assert (project / "build" / "runtime" / "config.json").read_bytes() == before


def test_dropped_outputs_and_redacted_features_that_exist_build(project):
    out = api.build(project, [*ON, "serving.capture.redact=[mean_radius]", "serving.capture.drop=[probabilities]"],
                    run_hooks=False).out_dir
    capture = json.loads((out / "runtime" / "config.json").read_text())["capture"]
    assert (capture["redact"], capture["drop"]) == (["mean_radius"], ["probabilities"])
    with pytest.raises(BuildFailed, match=r"serving.capture.drop: 'probabilites' is no feature or output"):
        api.build(project, [*ON, "serving.capture.drop=[probabilites]"], run_hooks=False)
