"""Bad models and bad data: a clear error naming the file and column or estimator, exit 1 or 2, no traceback."""

from __future__ import annotations

import io

import joblib
import numpy as np
import pandas as pd
import pytest
from mlready.engine.errors import StepError
from mlready.generators._shared.data import load_dataset, read_table
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DEPLOY = (
    "project: {name: bad}\nmodel: {source: model.joblib}\n"
    "data: {train: data/train.csv, eval: data/eval.csv}\n"
    'readiness:\n  gates: ["accuracy >= 0.5"]\n  cv: {folds: 0}\n'
)


def dumped(model) -> bytes:
    buf = io.BytesIO()
    joblib.dump(model, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def model_bytes(cancer_frames) -> bytes:
    """A scaled logistic regression fitted on an array (so it knows no column names)."""
    train = cancer_frames[0]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return dumped(model.fit(train.drop(columns="target").to_numpy(), train["target"]))


@pytest.fixture
def good(proj, cancer_frames, model_bytes):
    """A working project."""
    train, test = cancer_frames
    proj.write("model.joblib", model_bytes)
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    proj.write("deploy.yaml", DEPLOY)
    return proj


def test_the_good_project_builds(good):
    rc, err = good.run()
    assert rc == 0, err


def test_corrupt_model_files(good):
    good.write("model.joblib", b"this is not a joblib file")
    rc, err = good.run()
    assert rc == 1 and "model.joblib: not a scikit-learn model file: joblib cannot read it" in err
    assert "KeyError" not in err  # pickle's answer to the byte 't' (KeyError: 116) is not the message
    good.write("model.onnx", b"\x08\x07garbage")
    rc, err = good.run("model.source=model.onnx")
    assert rc == 1 and "model.onnx: not a valid ONNX model" in err


def test_unsupported_estimator_is_named(good, cancer_frames):
    train = cancer_frames[0]
    good.write(
        "model.joblib",
        dumped(KernelRidge().fit(train.drop(columns="target").to_numpy()[:50], train["target"][:50])),
    )
    rc, err = good.run()
    assert rc == 1
    assert "model.joblib: skl2onnx cannot convert this model" in err and "KernelRidge" in err


def test_missing_target_column_names_file_and_column(good, cancer_frames):
    good.write("data/eval.csv", cancer_frames[1].rename(columns={"target": "label"}).drop(columns="label"))
    rc, err = good.run()
    assert rc == 1
    assert "data/eval.csv: target column 'target' not found (columns: mean_radius, mean_texture" in err
    assert "set data.target" in err


def test_nan_in_a_feature_names_the_column_and_row(good, cancer_frames):
    frame = cancer_frames[1].copy()
    frame.loc[20, "worst_area"] = np.nan
    good.write("data/eval.csv", frame)
    rc, err = good.run()
    assert rc == 1
    assert "data/eval.csv: column 'worst_area' has 1 missing value(s) (first in data row 21)" in err


def test_wrong_dtype_names_the_column(good, cancer_frames):
    frame = cancer_frames[1].copy()
    frame["mean_area"] = frame["mean_area"].astype(object)
    frame.loc[15, "mean_area"] = "twelve"
    good.write("data/eval.csv", frame)
    rc, err = good.run()
    assert rc == 1
    assert (
        "data/eval.csv: column 'mean_area' is not numeric (dtype str; value 'twelve' in data row 16)"
        in err
    )


def test_model_inputs_not_matching_the_data_columns(good, cancer_frames):
    good.write("data/eval.csv", cancer_frames[1].drop(columns=["mean_radius"]))
    rc, err = good.run()
    assert rc == 1
    assert "30 input features" in err and "29 feature columns" in err


def test_empty_eval_file(good):
    good.write("data/eval.csv", "")
    rc, err = good.run()
    assert rc in (1, 2) and "data/eval.csv" in err


def test_parquet_eval_data_works(good, cancer_frames):
    good.write("data/eval.parquet", cancer_frames[1])
    rc, err = good.run("data.eval=data/eval.parquet")
    assert rc == 0, err
    assert good.report()["eval"]["data"] == "data/eval.parquet"


# The readiness data layer on its own: the messages the build would print when ingestion lets data through.


def test_read_table_errors(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b,target\n")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not parquet")
    (tmp_path / "data.txt").write_text("a\n1\n")
    cases = {
        "empty.csv": "empty.csv: the file is empty",
        "header.csv": "header.csv: no data rows (columns: a, b, target)",
        "bad.parquet": "bad.parquet: not a readable Parquet file",
        "data.txt": "data.txt: unsupported data format '.txt'; use .csv or .parquet",
        "absent.csv": "absent.csv: file not found",
    }
    for name, message in cases.items():
        with pytest.raises(StepError) as info:
            read_table(tmp_path / name, name)
        assert str(info.value).startswith(message)


def test_load_dataset_names_the_columns_a_fitted_model_needs(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0], "c": [3.0, 4.0], "target": [0, 1]}).to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(
        StepError,
        match=r"e.csv: the model was fitted on column b, which the file lacks \(columns: a, c, target\)",
    ):
        load_dataset(
            tmp_path / "e.csv", "e.csv", target="target", task="classification", model_features=["a", "b"]
        )
    with pytest.raises(
        StepError, match=r"e.csv: 2 feature column\(s\) \(a, c\) but the model input 'input' takes 3"
    ):
        load_dataset(tmp_path / "e.csv", "e.csv", target="target", task="classification", n_features=3)
    with pytest.raises(StepError, match=r"feature column z listed in data.features is not in the file"):
        load_dataset(
            tmp_path / "e.csv", "e.csv", target="target", task="classification", spec_features=["a", "z"]
        )
    ds = load_dataset(
        tmp_path / "e.csv", "e.csv", target="target", task="classification", model_features=["c", "a"]
    )
    assert ds.features == ["c", "a"] and ds.X.tolist() == [[3.0, 1.0], [4.0, 2.0]]


def test_non_numeric_value_is_named_with_its_row(tmp_path):
    pd.DataFrame({"a": ["1.5", "twelve", "3"], "target": [0, 1, 1]}).to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(StepError) as info:
        load_dataset(tmp_path / "e.csv", "e.csv", target="target", task="classification")
    assert str(info.value) == (
        "e.csv: column 'a' is not numeric (dtype str; value 'twelve' in data row 2); the model takes numbers"
    )


def test_target_with_missing_values(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "target": [0, None, 1]}).to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(
        StepError, match=r"target column 'target' has 1 missing value\(s\) \(first in data row 2\)"
    ):
        load_dataset(tmp_path / "e.csv", "e.csv", target="target", task="classification")


def test_integer_model_input_refuses_fractional_values(tmp_path):
    pd.DataFrame({"a": [1, 2, 3], "b": [0.0, 2.5, 1.0], "target": [0, 1, 1]}).to_csv(
        tmp_path / "e.csv", index=False
    )
    with pytest.raises(StepError) as info:
        load_dataset(
            tmp_path / "e.csv", "e.csv", target="target", task="classification", input_datatype="INT64"
        )
    assert str(info.value) == (
        "e.csv: column 'b' has fractional values (e.g. 2.5 in data row 2) but the model input 'input' is INT64"
    )
    ds = load_dataset(
        tmp_path / "e.csv",
        "e.csv",
        target="target",
        task="classification",
        spec_features=["a"],
        input_datatype="INT64",
    )
    assert ds.X.tolist() == [[1.0], [2.0], [3.0]]
