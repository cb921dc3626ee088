"""XGBoost, LightGBM and CatBoost models: their scikit-learn API saved with joblib and their native model files
build, the readiness gates evaluate the served ONNX model, parity holds and cross-validation refits a clone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
cb = pytest.importorskip("catboost")
pytest.importorskip("onnxmltools")

pytestmark = pytest.mark.slow

PARITY = ["parity.agreement >= 0.999", "parity.max_abs_diff <= 1e-4"]


def deploy(source: str, gates: list[str], extra_model: str = "") -> str:
    return (
        f"project: {{name: trees}}\nmodel:\n  source: {source}\n{extra_model}"
        "data: {train: data/train.csv, eval: data/eval.csv}\n"
        f"readiness:\n  gates: {gates}\n"
    )


def _xgb_native(est, path: Path) -> None:
    est.save_model(path)


def _lgb_native(est, path: Path) -> None:
    est.booster_.save_model(path)


def _cb_native(est, path: Path) -> None:
    est.save_model(str(path))


#: library -> (classifier, regressor, native suffix, how to save natively)
LIBS: dict[str, tuple[Callable, Callable, str, Callable]] = {
    "xgboost": (lambda: xgb.XGBClassifier(n_estimators=25, max_depth=3, n_jobs=1),
                lambda: xgb.XGBRegressor(n_estimators=25, max_depth=3, n_jobs=1), ".json", _xgb_native),
    "lightgbm": (lambda: lgb.LGBMClassifier(n_estimators=25, verbose=-1, n_jobs=1),
                 lambda: lgb.LGBMRegressor(n_estimators=25, verbose=-1, n_jobs=1), ".txt", _lgb_native),
    "catboost": (lambda: cb.CatBoostClassifier(iterations=25, verbose=0, thread_count=1, allow_writing_files=False),
                 lambda: cb.CatBoostRegressor(iterations=25, verbose=0, thread_count=1, allow_writing_files=False),
                 ".cbm", _cb_native),
}


def save(proj, est, lib: str, how: str, stem: str = "model") -> str:
    if how == "joblib":
        joblib.dump(est, proj.root / f"{stem}.joblib")
        return f"{stem}.joblib"
    _, _, suffix, native = LIBS[lib]
    native(est, proj.root / f"{stem}{suffix}")
    return f"{stem}{suffix}"


def build(proj, train: pd.DataFrame, test: pd.DataFrame, source: str, gates: list[str]) -> None:
    """Write the data and the spec and build: the build must succeed (its gates included)."""
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    proj.write("deploy.yaml", deploy(source, gates))
    rc, err = proj.run()
    assert rc == 0, err


def served(proj) -> ort.InferenceSession:
    return ort.InferenceSession(str(proj.root / "build" / "model" / "model.onnx"), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("how", ["joblib", "native"])
@pytest.mark.parametrize("lib", sorted(LIBS))
def test_classifier_builds_passes_gates_and_matches(proj, cancer_frames, lib, how):
    train, test = cancer_frames
    X, y = train.drop(columns="target"), train["target"]
    est = LIBS[lib][0]().fit(X, y)
    build(proj, train, test, save(proj, est, lib, how), ["f1 >= 0.9", "auc >= 0.95", *PARITY])
    report = proj.report()
    assert report["status"] == "passed"
    assert report["parity"]["metrics"]["parity.agreement"] == 1.0
    assert report["cv"]["skipped"] is None and report["cv"]["folds"] == 5  # refits a clone per fold
    sig = proj.signature()
    assert [o["name"] for o in sig["outputs"]] == ["label", "probabilities"]
    assert sig["classes"] == [0, 1]
    assert [f["name"] for f in sig["features"]] == list(X.columns)
    # the served ONNX model (float32 input) answers like the library on the evaluation rows
    rows = pd.read_csv(proj.root / "data" / "eval.csv").drop(columns="target")
    label, proba = served(proj).run(None, {"input": rows.to_numpy(np.float32)})
    assert np.abs(proba - est.predict_proba(rows)).max() < 1e-4
    assert (label == est.predict(rows).reshape(-1)).mean() >= 0.999


@pytest.mark.parametrize("how", ["joblib", "native"])
@pytest.mark.parametrize("lib", sorted(LIBS))
def test_regressor_builds_and_matches(proj, cancer_frames, lib, how):
    train, test = cancer_frames
    target = "mean_area"  # a continuous column as the target
    train = train.drop(columns="target").rename(columns={target: "target"})
    test = test.drop(columns="target").rename(columns={target: "target"})
    est = LIBS[lib][1]().fit(train.drop(columns="target"), train["target"])
    build(proj, train, test, save(proj, est, lib, how), ["r2 >= 0.8", "parity.max_abs_diff <= 0.1"])
    report = proj.report()
    assert report["model"]["task"] == "regression" and report["status"] == "passed"
    assert report["cv"]["skipped"] is None
    assert proj.signature()["outputs"] == [{"name": "prediction", "datatype": "FP32", "shape": [-1, 1]}]


@pytest.mark.parametrize("lib", sorted(LIBS))
def test_multiclass_native_file(proj, iris_frames, lib):
    train, test = iris_frames
    est = LIBS[lib][0]().fit(train.drop(columns="target"), train["target"])
    source = save(proj, est, lib, "native")
    if lib == "xgboost":  # XGBoost's binary JSON (UBJSON) this time
        est.save_model(proj.root / "model.ubj")
        source = "model.ubj"
    build(proj, train, test, source, ["accuracy >= 0.85", *PARITY])
    sig = proj.signature()
    assert sig["classes"] == [0, 1, 2]
    assert sig["outputs"][1] == {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}


def test_lightgbm_native_booster_from_train_api(proj, cancer_frames):
    """A Booster from lightgbm.train (no scikit-learn wrapper ever existed) refits as an LGBMClassifier."""
    train, test = cancer_frames
    ds = lgb.Dataset(train.drop(columns="target"), train["target"])
    booster = lgb.train({"objective": "binary", "num_leaves": 7, "verbose": -1, "num_threads": 1}, ds, 30)
    booster.save_model(proj.root / "model.txt")
    build(proj, train, test, "model.txt", ["f1 >= 0.9", *PARITY])
    report = proj.report()
    assert report["status"] == "passed" and report["cv"]["skipped"] is None


@pytest.mark.parametrize("lib", ["xgboost", "lightgbm", "catboost"])
def test_pipeline_ending_in_a_booster(proj, cancer_frames, lib):
    """skl2onnx converts the whole Pipeline with the booster's converter registered."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    train, test = cancer_frames
    pipe = make_pipeline(SimpleImputer(), LIBS[lib][0]()).fit(train.drop(columns="target"), train["target"])
    joblib.dump(pipe, proj.root / "model.joblib")
    build(proj, train, test, "model.joblib", ["f1 >= 0.9", *PARITY])
    assert proj.report()["status"] == "passed"


def test_mixed_table_pipeline_ending_in_lightgbm(proj):
    """String categories one-hot encoded in a ColumnTransformer, then LightGBM: one typed input per column."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    n = 500
    frame = pd.DataFrame({"plan": rng.choice(["basic", "plus", "pro"], n), "usage": rng.normal(10, 3, n),
                          "months": rng.integers(1, 60, n)})
    frame["target"] = ((frame["plan"] == "basic") & (frame["usage"] > 9) | (frame["months"] < 6)).astype(int)
    train, test = frame.iloc[:400], frame.iloc[400:]
    pipe = Pipeline([
        ("cols", ColumnTransformer([("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"])],
                                   remainder="passthrough")),
        ("gbm", lgb.LGBMClassifier(n_estimators=30, verbose=-1, n_jobs=1)),
    ]).fit(train.drop(columns="target"), train["target"])
    joblib.dump(pipe, proj.root / "model.joblib")
    build(proj, train, test, "model.joblib", ["accuracy >= 0.9", *PARITY])
    features = {f["name"]: f["datatype"] for f in proj.signature()["features"]}
    assert features == {"plan": "BYTES", "usage": "FP32", "months": "INT64"}


def test_lightgbm_integer_coded_categorical_feature_converts(proj):
    """LightGBM's categorical splits on integer codes convert (the caller sends the codes)."""
    rng = np.random.default_rng(1)
    n = 600
    frame = pd.DataFrame({"a": rng.normal(size=n), "code": rng.integers(0, 6, n), "b": rng.normal(size=n)})
    frame["target"] = ((frame["a"] + frame["code"].isin([1, 3, 4]) * 1.5) > 0.8).astype(int)
    train, test = frame.iloc[:450], frame.iloc[450:]
    est = lgb.LGBMClassifier(n_estimators=30, min_child_samples=5, verbose=-1, n_jobs=1)
    est.fit(train.drop(columns="target"), train["target"], categorical_feature=["code"])
    est.booster_.save_model(proj.root / "model.txt")
    build(proj, train, test, "model.txt", ["accuracy >= 0.85", *PARITY])


def test_explicit_format_reads_the_librarys_estimator_from_joblib(proj, cancer_frames):
    train, test = cancer_frames
    est = LIBS["xgboost"][0]().fit(train.drop(columns="target"), train["target"])
    joblib.dump(est, proj.root / "model.joblib")
    proj.write("data/eval.csv", test)
    proj.write("data/train.csv", train)
    proj.write("deploy.yaml", deploy("model.joblib", PARITY, "  format: xgboost\n"))
    rc, err = proj.run()
    assert rc == 0, err
    assert proj.report()["parity"]["metrics"]["parity.agreement"] == 1.0


@pytest.mark.parametrize(("lib", "how"), [("catboost", "native"), ("catboost", "joblib"), ("lightgbm", "joblib")])
def test_string_classes_are_the_served_labels(proj, iris_frames, lib, how):
    """Classes fitted as strings stay strings: the label output is BYTES, the ONNX labels are the names."""
    names = {0: "setosa", 1: "versicolor", 2: "virginica"}
    train, test = (f.assign(target=f["target"].map(names)) for f in iris_frames)
    est = LIBS[lib][0]().fit(train.drop(columns="target"), train["target"])
    build(proj, train, test, save(proj, est, lib, how), ["accuracy >= 0.85", *PARITY])
    sig = proj.signature()
    assert sig["classes"] == ["setosa", "versicolor", "virginica"]
    assert sig["outputs"][0] == {"name": "label", "datatype": "BYTES", "shape": [-1]}
    label, _ = served(proj).run(None, {"input": test.drop(columns="target").to_numpy(np.float32)})
    assert set(label.tolist()) <= set(names.values())


def churn_table(n: int = 700) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"usage": rng.normal(10, 3, n), "plan": rng.choice(["basic", "plus", "pro", "team"], n),
                          "months": rng.integers(1, 60, n)})
    frame["target"] = ((frame["plan"].isin(["basic", "team"]) & (frame["usage"] > 9)) | (frame["months"] < 6))
    return frame.assign(target=frame["target"].astype(int))


@pytest.mark.parametrize("how", ["joblib", "native"])
@pytest.mark.parametrize("lib", ["lightgbm", "xgboost"])
def test_pandas_category_columns_take_the_values(proj, lib, how):
    """A model fitted on a pandas 'category' column: the served model takes the category values (one input per
    column), maps them to the library's codes, and an unseen value is a missing one, as in the library."""
    frame = churn_table()
    train, test = frame.iloc[:500], frame.iloc[500:].reset_index(drop=True)
    test.loc[::9, "plan"] = "enterprise"  # never seen in training
    X = train.drop(columns="target").assign(plan=lambda f: f["plan"].astype("category"))
    est = (LIBS[lib][0]() if lib == "lightgbm" else xgb.XGBClassifier(
        n_estimators=25, max_depth=4, enable_categorical=True, n_jobs=1)).fit(X, train["target"])
    build(proj, train, test, save(proj, est, lib, how), ["accuracy >= 0.9", *PARITY])
    report = proj.report()
    assert report["status"] == "passed" and report["cv"]["skipped"] is None
    assert {f["name"]: f["datatype"] for f in proj.signature()["features"]} == {
        "usage": "FP32", "plan": "BYTES", "months": "INT64"}
    rows = test.drop(columns="target")
    _, proba = served(proj).run(None, {
        "usage": rows[["usage"]].to_numpy(np.float32), "plan": rows[["plan"]].to_numpy(object),
        "months": rows[["months"]].to_numpy(np.int64)})
    cats = sorted(train["plan"].unique())  # pandas' categories: sorted values
    known = rows.assign(plan=pd.Categorical(rows["plan"].where(rows["plan"].isin(cats)), categories=cats))
    np.testing.assert_allclose(proba, est.predict_proba(known), atol=1e-5)


def test_xgboost_categorical_feature_fitted_on_codes(proj):
    """A native booster trained on integer codes marked categorical (feature_types 'c'): the caller sends the
    codes, onnxmltools converts the category splits."""
    codes = {"basic": 0, "plus": 1, "pro": 2, "team": 3}
    frame = churn_table().assign(plan=lambda f: f["plan"].map(codes))
    train, test = frame.iloc[:500], frame.iloc[500:]
    dtrain = xgb.DMatrix(train.drop(columns="target"), train["target"], feature_types=["q", "c", "int"],
                         enable_categorical=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "nthread": 1}, dtrain, 25)
    assert "c" in booster.feature_types
    booster.save_model(proj.root / "model.json")
    build(proj, train, test, "model.json", ["accuracy >= 0.9", *PARITY])
    assert proj.report()["parity"]["metrics"]["parity.agreement"] == 1.0


@pytest.mark.parametrize(("lib", "params"), [
    ("xgboost", {"objective": "reg:quantileerror", "quantile_alpha": 0.5}),
    ("xgboost", {"objective": "reg:tweedie", "tweedie_variance_power": 1.3}),
    ("lightgbm", {"objective": "gamma"}),
])
def test_regression_objectives_convert_and_refit(proj, cancer_frames, lib, params):
    """Objectives with their own link or parameters: the served values match the library, and the CV refit of
    a native file keeps the objective's parameters (XGBoost's quantile needs its quantile_alpha)."""
    train, test = (f.drop(columns="target").rename(columns={"mean_area": "target"}) for f in cancer_frames)
    X, y = train.drop(columns="target"), train["target"]
    if lib == "xgboost":
        xgb.train({**params, "max_depth": 3, "nthread": 1}, xgb.DMatrix(X, y), 20).save_model(proj.root / "model.json")
        source = "model.json"
    else:
        lgb.train({**params, "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 20).save_model(proj.root / "m.txt")
        source = "m.txt"
    build(proj, train, test, source, ["parity.max_abs_diff <= 0.01"])
    report = proj.report()
    assert report["model"]["task"] == "regression" and report["cv"]["skipped"] is None
