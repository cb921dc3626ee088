"""scikit-learn pipelines on mixed tables: one typed ONNX input per column, and everything downstream.

Real pipelines (ColumnTransformer with OneHotEncoder/OrdinalEncoder on strings, SimpleImputer on floats with
NaN, integer and boolean columns) are built through the CLI: the signature binds each column to its input,
readiness evaluates the served ONNX model on the table, refits the whole pipeline per fold, compares it with
the ONNX model on the same rows and measures drift per column (category shares for strings).
"""

from __future__ import annotations

import io
import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler


def table(n: int, seed: int, ca: float = 0.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "state": rng.choice(["CA", "NY", "TX"], n, p=[ca, (1 - ca) / 2, (1 - ca) / 2]),
        "plan": rng.choice(["basic", "pro"], n),
        "age": rng.integers(18, 80, n),
        "income": np.round(rng.normal(50, 10, n), 3),
        "member": rng.random(n) < 0.5,
    })
    logit = (frame["state"] == "CA") * 1.5 + (frame["income"] - 50) / 10 - frame["member"] * 0.8
    frame["target"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan
    return frame


def pipeline(final=None) -> Pipeline:
    columns = ColumnTransformer([
        ("state", OneHotEncoder(handle_unknown="ignore"), ["state"]),
        ("plan", OrdinalEncoder(), ["plan"]),
        ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
        ("flags", "passthrough", ["member"]),
    ])
    return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=500) if final is None else final)])


def dumped(model) -> bytes:
    buf = io.BytesIO()
    joblib.dump(model, buf)
    return buf.getvalue()


DEPLOY = """\
project: {name: mixed}
model: {source: model.joblib, class_names: [stays, leaves]}
data: {train: data/train.csv, eval: data/eval.csv, sample: data/sample.csv, target: target}
readiness:
  gates: ["parity.agreement >= 0.999", "parity.max_abs_diff <= 1e-5", "accuracy >= 0.6"]
  cv: {folds: 3, seed: 0}
  sample: {gates: ["drift.psi.max <= 5"]}
"""


@pytest.fixture
def mixed(proj):
    proj.write("data/train.csv", table(400, 1))
    proj.write("data/eval.csv", table(200, 2))
    proj.write("data/sample.csv", table(200, 3, ca=0.8))  # the state mix drifts
    train = pd.read_csv(proj.root / "data" / "train.csv")  # fitted on the dtypes the build reads
    proj.write("model.joblib", dumped(pipeline().fit(train.drop(columns="target"), train["target"])))
    proj.write("deploy.yaml", DEPLOY)
    return proj


def test_mixed_pipeline_builds_with_one_typed_input_per_column(mixed):
    rc, err = mixed.run()
    assert rc == 0, err
    sig = json.loads((mixed.root / "build" / "model" / "signature.json").read_text())
    assert [(i["name"], i["datatype"], i["shape"]) for i in sig["inputs"]] == [
        ("state", "BYTES", [-1, 1]), ("plan", "BYTES", [-1, 1]), ("age", "FP32", [-1, 1]),
        ("income", "FP32", [-1, 1]), ("member", "BOOL", [-1, 1]),
    ]
    assert sig["features"] == [
        {"name": n, "datatype": d, "input": n, "index": None}
        for n, d in [("state", "BYTES"), ("plan", "BYTES"), ("age", "FP32"), ("income", "FP32"), ("member", "BOOL")]
    ]
    assert sig["class_names"] == ["stays", "leaves"]
    report = mixed.report()
    assert report["status"] == "passed"
    assert report["parity"]["metrics"]["parity.agreement"] == 1.0  # NaN incomes reach the ONNX imputer too
    assert report["cv"]["skipped"] is None and len(report["cv"]["per_fold"]) == 3  # the pipeline refit per fold
    drift = {f["feature"]: f for f in report["sample"]["checks"]["features"]}
    assert drift["state"]["measure"] == "category_psi" and drift["state"]["psi_level"] == "significant"
    assert {c["category"] for c in drift["state"]["categories"]} == {"CA", "NY", "TX", "__other__"} - {"__other__"}
    assert drift["income"]["measure"] == "quantile_psi"


def test_unseen_category_counts_as_other(mixed):
    sample = table(200, 3)
    sample.loc[:49, "state"] = "ZZ"  # a state the training data never had
    mixed.write("data/sample.csv", sample)
    rc, err = mixed.run()
    assert rc == 0, err
    state = next(f for f in mixed.report()["sample"]["checks"]["features"] if f["feature"] == "state")
    other = next(c for c in state["categories"] if c["category"] == "__other__")
    assert other == {"category": "__other__", "reference": 0.0, "sample": 0.25}
    assert state["out_of_range"] == 0.25 and state["psi_level"] == "significant"


def test_missing_string_in_eval_is_located(mixed):
    ev = pd.read_csv(mixed.root / "data" / "eval.csv")
    ev.loc[6, "state"] = np.nan
    mixed.write("data/eval.csv", ev)
    rc, err = mixed.run()
    assert rc == 1
    assert ("data/eval.csv: column 'state': a missing value in data row 7 cannot be sent as a string "
            "(the model input 'state' is BYTES)") in err


def fit_and_build(proj, train: pd.DataFrame, ev: pd.DataFrame, model, gates: str) -> dict:
    """Fit ``model`` on ``train`` as the build reads it, build with ``gates`` (3-fold CV); the signature."""
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", ev)
    train = pd.read_csv(proj.root / "data" / "train.csv")
    proj.write("model.joblib", dumped(model.fit(train.drop(columns="target"), train["target"])))
    proj.write("deploy.yaml", "project: {name: fitted}\nmodel: {source: model.joblib}\n"
                              "data: {train: data/train.csv, eval: data/eval.csv}\n"
                              f"readiness: {{gates: {gates}, cv: {{folds: 3}}}}\n")
    rc, err = proj.run()
    assert rc == 0, err
    return json.loads((proj.root / "build" / "model" / "signature.json").read_text())


def test_regression_pipeline_on_mixed_table(proj):
    train, ev = table(300, 4), table(100, 5)
    train["target"] = train["age"] * 0.5 + (train["state"] == "CA") * 10.0
    ev["target"] = ev["age"] * 0.5 + (ev["state"] == "CA") * 10.0
    sig = fit_and_build(proj, train, ev, pipeline(Ridge()), "['r2 >= 0.8', 'parity.max_abs_diff <= 1e-4']")
    assert sig["task"] == "regression" and "class_names" not in sig and len(sig["inputs"]) == 5


class Doubler(BaseEstimator, TransformerMixin):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2


def test_unsupported_step_is_named_with_alternatives(mixed):
    train = pd.read_csv(mixed.root / "data" / "train.csv")
    model = Pipeline([("columns", pipeline().steps[0][1]), ("double", Doubler()), ("model", LogisticRegression())])
    mixed.write("model.joblib", dumped(model.fit(train.drop(columns="target"), train["target"])))
    rc, err = mixed.run()
    assert rc == 1
    assert "model.joblib: skl2onnx cannot convert this model: " in err
    assert "Doubler (the step 'double' of the Pipeline) has no ONNX converter; supported: " in err
    assert "OneHotEncoder" in err  # the alternatives are listed


def test_optimizer_lists_matrix_passes_as_skipped_with_the_reason(mixed):
    rc, err = mixed.run("optimize=int8", "optimize.measure.rounds=3", "optimize.measure.latency_runs=20",
                        "optimize.measure.throughput_runs=1")
    assert rc == 0, err
    report = json.loads((mixed.root / "build" / "reports" / "optimization.json").read_text())
    int8 = next(c for c in report["candidates"] if c["name"] == "int8_dynamic")
    assert int8["status"] == "skipped"
    assert int8["why"].startswith("int8_dynamic does not apply: the model takes one input per column (state string,")
    assert report["chosen"] == "baseline"
    base = next(c for c in report["candidates"] if c["name"] == "baseline")
    assert base["status"] == "built"  # measured on the table's feeds: every input fed
    assert base["peak_rss_mb"] > 0  # the memory child feeds every input too


def test_column_names_onnx_renames_keep_their_names_in_features(proj):
    frame = table(300, 6).rename(columns={"state": "home state", "income": "income.usd"})
    proj.write("data/eval.csv", frame)
    frame = pd.read_csv(proj.root / "data" / "eval.csv")
    columns = ColumnTransformer([
        ("s", OneHotEncoder(handle_unknown="ignore"), ["home state"]),
        ("n", SimpleImputer(), ["income.usd", "age"]),
    ])
    model = Pipeline([("c", columns), ("m", LogisticRegression(max_iter=500))])
    proj.write("model.joblib", dumped(model.fit(frame[["home state", "income.usd", "age"]], frame["target"])))
    proj.write("deploy.yaml", "project: {name: renamed}\nmodel: {source: model.joblib}\n"
                              "data: {eval: data/eval.csv}\nreadiness: {gates: ['parity.agreement >= 1']}\n")
    rc, err = proj.run()
    assert rc == 0, err
    sig = json.loads((proj.root / "build" / "model" / "signature.json").read_text())
    assert [(f["name"], f["input"]) for f in sig["features"]] == [
        ("home state", "home_state"), ("income.usd", "income_usd"), ("age", "age")
    ]


def test_string_class_labels(proj):
    train, ev = table(400, 7), table(150, 8)
    for frame in (train, ev):
        frame["target"] = np.where(frame["target"] == 1, "leaves", "stays")
    sig = fit_and_build(proj, train, ev, pipeline(), "['parity.agreement >= 1', 'accuracy >= 0.6']")
    assert sig["classes"] == ["leaves", "stays"] and sig["class_names"] == ["leaves", "stays"]
    assert next(o for o in sig["outputs"] if o["name"] == "label")["datatype"] == "BYTES"


TRAINER = """
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder


def fit(X, y):
    columns = ColumnTransformer([("s", OneHotEncoder(handle_unknown="ignore"), ["state", "plan"]),
                                 ("n", SimpleImputer(), ["age", "income"])])
    return Pipeline([("c", columns), ("m", LogisticRegression(max_iter=500))]).fit(X, y)
"""


def test_trainer_on_a_mixed_table(proj):
    proj.write("data/train.csv", table(400, 9).drop(columns="member"))
    proj.write("data/eval.csv", table(150, 10).drop(columns="member"))
    proj.write("train.py", TRAINER)
    proj.write("deploy.yaml", 'project: {name: trained}\nmodel: {source: train.py, trainer: "train:fit"}\n'
                              "data: {train: data/train.csv, eval: data/eval.csv}\n"
                              "readiness: {gates: ['parity.agreement >= 1', 'cv.accuracy.mean >= 0.6'], "
                              "cv: {folds: 3}}\n")
    rc, err = proj.run()
    assert rc == 0, err  # the trainer gets the table as read (strings kept) and is called again per fold
    sig = json.loads((proj.root / "build" / "model" / "signature.json").read_text())
    assert [i["datatype"] for i in sig["inputs"]] == ["BYTES", "BYTES", "FP32", "FP32"]  # ints into an imputer: FP32


def test_encoder_over_the_whole_table_takes_booleans_as_floats(proj):
    frame = table(300, 11)[["state", "age", "member", "target"]]
    frame["age"] = frame["age"] % 3  # a small integer code
    proj.write("data/eval.csv", frame)
    frame = pd.read_csv(proj.root / "data" / "eval.csv")
    model = Pipeline([("onehot", OneHotEncoder(handle_unknown="ignore")), ("m", LogisticRegression(max_iter=500))])
    proj.write("model.joblib", dumped(model.fit(frame.drop(columns="target"), frame["target"])))
    proj.write("deploy.yaml", "project: {name: onehot}\nmodel: {source: model.joblib}\n"
                              "data: {eval: data/eval.csv}\nreadiness: {gates: ['parity.agreement >= 1']}\n")
    rc, err = proj.run()
    assert rc == 0, err  # skl2onnx's OneHotEncoder has no boolean input: retried with the booleans as floats
    sig = json.loads((proj.root / "build" / "model" / "signature.json").read_text())
    assert [(f["name"], f["datatype"]) for f in sig["features"]] == [
        ("state", "BYTES"), ("age", "FP32"), ("member", "FP32")
    ]
