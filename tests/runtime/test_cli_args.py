"""The server's command line accepts SageMaker's `docker run <image> serve` convention."""

from __future__ import annotations

import pytest
from mlready.runtime.__main__ import main


def test_a_lone_serve_argument_is_accepted(capsys, tmp_path):
    bad = tmp_path / "runtime.json"
    bad.write_text('{"http_port": "eighty"}')
    assert main(["serve", "--config", str(bad)]) == 2  # parsed; then the config's own error, not argparse's
    err = capsys.readouterr().err
    assert "unrecognized arguments" not in err and err.startswith("error: ")


def test_other_positionals_are_still_refused(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train"])
    assert info.value.code == 2
    assert "invalid choice: 'train'" in capsys.readouterr().err


def test_version_labels_follow_registry_aliases():
    from mlready.generators.runtime import ServingSpec, registry_alias_label, runtime_config

    assert registry_alias_label("models:/churn@champion", 3) == {"champion": 3}
    assert registry_alias_label("models:/churn/3", 3) == {}
    assert registry_alias_label("model.joblib", 1) == {}
    labels = registry_alias_label("models:/churn@champion", 3)
    doc = runtime_config(ServingSpec(), "churn", None, labels)
    assert doc["models"]["churn"]["labels"] == {"champion": 3}
    own = runtime_config(ServingSpec(labels={"champion": 2, "stable": 2}), "churn", None, labels)
    assert own["models"]["churn"]["labels"] == {"champion": 2, "stable": 2}  # the spec's own labels win
