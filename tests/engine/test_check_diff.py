"""``mlready check`` shows a unified diff for each drifted file and tells a changed model from a changed spec
(issue 17)."""

from __future__ import annotations

import pytest
from mlready.engine import api
from mlready.engine.cli import main


def test_a_hand_edit_is_shown_as_a_unified_diff(demo, capsys):
    api.build(demo, run_hooks=False)
    config = demo / "build" / "runtime" / "config.json"
    generated = config.read_text()
    edited = generated.replace("{", '{"edited": true, ', 1)
    config.write_text(edited)
    assert main(["check", "-C", str(demo)]) == 1
    err = capsys.readouterr().err
    assert "  runtime/config.json: edited by hand\n" in err
    assert "    --- build/runtime/config.json (in the build dir)\n" in err
    assert "    +++ build/runtime/config.json (what `mlready build` writes now)\n" in err
    assert f"    -{edited.splitlines()[0]}\n" in err
    assert f"    +{generated.splitlines()[0]}\n" in err
    assert main(["check", "-C", str(demo), "--no-diff"]) == 1
    assert "---" not in capsys.readouterr().err


@pytest.mark.slow
def test_a_changed_model_is_told_from_a_changed_spec(demo, capsys):
    import joblib
    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier

    api.build(demo, run_hooks=False)
    spec = (demo / "deploy.yaml").read_text()
    (demo / "deploy.yaml").write_text(spec.replace("{source: model.joblib}", "{source: model.joblib, version: 2}"))
    drift, _ = api.check(demo)
    assert drift and {d.cause for d in drift if d.cause} == {
        "the spec changed since the build (deploy.yaml, a conf/ group file or an override)"}
    api.build(demo, run_hooks=False)
    frame = pd.read_csv(demo / "data" / "eval.csv")
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(frame.drop(columns="target"), frame["target"])
    joblib.dump(tree, demo / "model.joblib")
    assert main(["check", "-C", str(demo), "--no-diff"]) == 1
    err = capsys.readouterr().err
    assert "  model/model.onnx: differs from what the spec generates now\n" in err
    assert ("why the generated files differ: the model file model.joblib changed since the build; "
            "the spec did not change\n") in err


def test_binary_and_huge_files_are_compared_by_size_not_diffed():
    from mlready.engine.drift import MAX_DIFF_BYTES, unified

    assert unified("model/model.onnx", b"\x08\x00\x01", b"\x08\x00") == (
        "binary file: 3 bytes in the build dir, 2 bytes generated now\n")
    huge = b"a\n" * (MAX_DIFF_BYTES // 2 + 1)
    assert unified("data.txt", huge, b"a\n") == (
        f"too large to diff: {len(huge)} bytes in the build dir, 2 bytes generated now\n")
    assert unified("x.txt", b"a\nb\n", b"a\nc").splitlines()[-2:] == ["+c", "\\ No newline at end of file"]
