"""The named-feature contract: ``features`` and ``class_names`` in model/signature.json, and the one way a
DataFrame becomes ONNX feeds (``_shared/feeds.py``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlready.generators._shared.feeds import FeedError, bind_features, frame_feeds
from mlready.generators.model.source import ModelSourceError, class_display_names

MATRIX = [{"name": "input", "datatype": "FP32", "shape": [-1, 3]}]
COLUMNS = [
    {"name": "state", "datatype": "BYTES", "shape": [-1, 1]},
    {"name": "age", "datatype": "INT64", "shape": [-1, 1]},
    {"name": "income", "datatype": "FP32", "shape": [-1, 1]},
    {"name": "member", "datatype": "BOOL", "shape": [-1, 1]},
]


def test_matrix_input_binds_columns_to_positions():
    assert bind_features(MATRIX, ["a", "b", "c"]) == [
        {"name": "a", "datatype": "FP32", "input": "input", "index": 0},
        {"name": "b", "datatype": "FP32", "input": "input", "index": 1},
        {"name": "c", "datatype": "FP32", "input": "input", "index": 2},
    ]
    assert bind_features(MATRIX, ["a", "b"]) is None  # width differs: the build does not know the names
    assert bind_features(MATRIX, None) is None


def test_per_column_inputs_bind_in_data_order():
    feats = bind_features(COLUMNS, ["income", "state", "member", "age"])
    assert [f["name"] for f in feats] == ["income", "state", "member", "age"]
    assert all(f["input"] == f["name"] and f["index"] is None for f in feats)
    assert [f["datatype"] for f in feats] == ["FP32", "BYTES", "BOOL", "INT64"]


def test_frame_feeds_mixed_types():
    frame = pd.DataFrame({
        "state": ["CA", "NY"], "age": [30, 41], "income": [1.5, np.nan], "member": [True, False],
    })
    feeds = frame_feeds(frame, COLUMNS, bind_features(COLUMNS, list(frame.columns)), "data/eval.csv")
    assert feeds["state"].dtype == object and feeds["state"].tolist() == [["CA"], ["NY"]]
    assert feeds["age"].dtype == np.int64 and feeds["member"].dtype == np.bool_
    assert np.isnan(feeds["income"][1, 0])  # NaN survives for an imputer in the graph


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("state", ["CA", None], "data/eval.csv: column 'state': a missing value in data row 2 cannot be sent as a "
                                "string (the model input 'state' is BYTES)"),
        ("age", [30, 4.5], "data/eval.csv: column 'age': value 4.5 in data row 2 is not a whole number "
                           "(the model input 'age' is INT64)"),
        ("income", ["1.5", "lots"], "data/eval.csv: column 'income': value 'lots' in data row 2 is not a number "
                                    "(the model input 'income' is FP32)"),
        ("member", ["yes", "no"], "data/eval.csv: column 'member': value 'yes' in data row 1 is not a boolean "
                                  "(the model input 'member' is BOOL)"),
    ],
)
def test_frame_feeds_errors_name_column_and_row(column, values, message):
    frame = pd.DataFrame({"state": ["CA", "NY"], "age": [30, 41], "income": [1.5, 2.0], "member": [True, False]})
    frame[column] = values
    with pytest.raises(FeedError) as exc:
        frame_feeds(frame, COLUMNS, bind_features(COLUMNS, list(frame.columns)), "data/eval.csv")
    assert str(exc.value) == message


def test_frame_feeds_missing_column_is_named():
    with pytest.raises(FeedError, match=r"data/eval.csv: the model takes feature column\(s\) 'member', which"):
        frame_feeds(pd.DataFrame({"state": ["CA"], "age": [1], "income": [1.0]}), COLUMNS,
                    bind_features(COLUMNS, None), "data/eval.csv")


def test_class_names_checked_against_the_classes():
    assert class_display_names(np.array([0, 1]), None, "m.joblib") == ["0", "1"]
    assert class_display_names([0, 1], ["benign", "malignant"], "m.joblib") == ["benign", "malignant"]
    with pytest.raises(ModelSourceError, match=r"model.class_names: 3 name\(s\) for the 2 classes of m.joblib"):
        class_display_names([0, 1], ["a", "b", "c"], "m.joblib")


def test_spec_class_names_validated(proj, iris_frames):
    train, test = iris_frames
    proj.write("data/eval.csv", test)
    proj.write("deploy.yaml", "project: {name: iris}\nmodel: {source: m.joblib, class_names: [a, a]}\n"
                              "data: {eval: data/eval.csv}\n")
    proj.write("m.joblib", b"")
    rc, err = proj.run()
    assert rc == 2 and "model.class_names" in err and "'a' is listed twice" in err


def test_build_writes_features_and_class_names(proj, iris_frames):
    import joblib
    from sklearn.linear_model import LogisticRegression

    train, test = iris_frames
    X = train.drop(columns="target").to_numpy()  # fitted on an array: the data's columns name the features
    joblib.dump(LogisticRegression(max_iter=500).fit(X, train["target"]), proj.root / "m.joblib")
    proj.write("data/eval.csv", test)
    proj.write("deploy.yaml", "project: {name: iris}\nmodel: {source: m.joblib, class_names: [setosa, versicolor,"
                              " virginica]}\ndata: {eval: data/eval.csv}\n")
    rc, err = proj.run()
    assert rc == 0, err
    sig = json.loads((proj.root / "build" / "model" / "signature.json").read_text())
    assert sig["class_names"] == ["setosa", "versicolor", "virginica"] and sig["classes"] == [0, 1, 2]
    assert [(f["name"], f["input"], f["index"]) for f in sig["features"]] == [
        ("sl", "input", 0), ("sw", "input", 1), ("pl", "input", 2), ("pw", "input", 3)
    ]
    proj.write("deploy.yaml", "project: {name: iris}\nmodel: {source: m.joblib, class_names: [a, b]}\n"
                              "data: {eval: data/eval.csv}\n")
    rc, err = proj.run()
    assert rc == 1 and "model.class_names: 2 name(s) for the 3 classes of m.joblib (0, 1, 2)" in err


def test_one_dimensional_single_input_is_the_column_alone():
    inputs = [{"name": "x", "datatype": "FP32", "shape": [-1]}]
    assert bind_features(inputs, ["mean radius"]) == [
        {"name": "mean radius", "datatype": "FP32", "input": "x", "index": None}
    ]
    feeds = frame_feeds(pd.DataFrame({"mean radius": [1.0, 2.0]}), inputs, bind_features(inputs, ["mean radius"]), "d")
    assert feeds["x"].shape == (2,)
