"""Keras and TensorFlow models: a `.keras` Sequential classifier, a SavedModel directory and a functional model
with two named inputs are each converted with tf2onnx, evaluated as served (readiness gates on the ONNX
model), compared with the source model (parity) and keep their input names; files that are not models of
their format, and ops tf2onnx cannot convert, are located errors that write nothing."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from mlready.generators.model.tf_convert import import_tf

pytestmark = pytest.mark.slow

# imported the way a build imports it (quiet, oneDNN's custom ops off); the tensorflow extra is part of the
# setup, so a missing one fails here instead of skipping
tf = import_tf()
import keras  # noqa: E402

STATES = ["NY", "CA", "TX", "WA", "FL", "IL", "OH", "GA"]
GATES = '["accuracy >= 0.85", "parity.agreement >= 0.999", "parity.max_abs_diff <= 1e-5"]'


def deploy(source: str, gates: str = GATES, extra_model: str = "") -> str:
    return (
        f"project: {{name: kerasy}}\nmodel:\n  source: {source}\n{extra_model}"
        "data: {train: data/train.csv, eval: data/eval.csv}\n"
        f"readiness:\n  gates: {gates}\n"
    )


def _two_inputs_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 400
    age = rng.uniform(18, 80, n).round(1)
    income = rng.normal(50, 15, n).round(2)
    target = ((age - 45) / 15 + (income - 50) / 10 + rng.normal(0, 0.3, n) > 0).astype(int)
    frame = pd.DataFrame({"age": age, "income": income, "target": target})
    return frame.iloc[:300].reset_index(drop=True), frame.iloc[300:].reset_index(drop=True)


def _mixed_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    n = 400
    state = rng.choice(STATES, n)
    age = rng.uniform(18, 80, n).round(1)
    score = np.select([state == "NY", state == "CA"], [1.5, -1.5], 0.0) + (age - 50) / 10 + rng.normal(0, 0.3, n)
    frame = pd.DataFrame({"state": state, "age": age, "target": (score > 0).astype(int)})
    return frame.iloc[:300].reset_index(drop=True), frame.iloc[300:].reset_index(drop=True)


@pytest.fixture(scope="module")
def models(tmp_path_factory, iris_frames):
    """Trained once: an iris Sequential classifier (.keras, legacy .h5 and a SavedModel export) and a
    two-input functional binary classifier (.keras)."""
    root = tmp_path_factory.mktemp("keras_models")
    keras.utils.set_random_seed(0)
    train, _ = iris_frames
    X = train.drop(columns="target").to_numpy(np.float32)
    norm = keras.layers.Normalization(name="scale")
    norm.adapt(X)
    seq = keras.Sequential([
        keras.Input((4,), name="features"),
        norm,
        keras.layers.Dense(16, activation="relu", name="hidden"),
        keras.layers.Dense(3, activation="softmax", name="classes"),
    ])
    seq.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    seq.fit(X, train["target"].to_numpy(), epochs=60, batch_size=32, verbose=0)
    seq.save(root / "iris.keras")
    seq.save(root / "iris.h5")
    logits = keras.Sequential([keras.Input((4,), name="features"), keras.layers.Normalization(mean=X.mean(0),
                               variance=X.var(0)), keras.layers.Dense(16, activation="relu"),
                               keras.layers.Dense(3, name="logits")])
    logits.compile(optimizer=keras.optimizers.Adam(0.05),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    logits.fit(X, train["target"].to_numpy(), epochs=30, batch_size=32, verbose=0)
    logits.export(root / "iris_saved", verbose=False)  # a SavedModel answering logits: the ONNX adds a softmax

    reg = keras.Sequential([keras.Input((3,), name="features"), keras.layers.Dense(1, name="petal_width")])
    reg.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    reg.fit(X[:, :3], train["pw"].to_numpy(np.float32), epochs=80, batch_size=32, verbose=0)
    reg.save(root / "petal.keras")

    two_train, _ = _two_inputs_frames()
    age = keras.Input((1,), name="age")
    income = keras.Input((1,), name="income")
    x = keras.layers.Concatenate()([
        keras.layers.Rescaling(1 / 15, offset=-3, name="age_scale")(age),
        keras.layers.Rescaling(1 / 10, offset=-5, name="income_scale")(income),
    ])
    x = keras.layers.Dense(8, activation="relu")(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="p")(x)
    two = keras.Model({"age": age, "income": income}, out)
    two.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    feeds = {c: two_train[[c]].to_numpy(np.float32) for c in ("age", "income")}
    two.fit(feeds, two_train["target"].to_numpy(np.float32), epochs=40, batch_size=32, verbose=0)
    two.save(root / "two.keras")

    mixed_train, _ = _mixed_frames()
    state = keras.Input((1,), name="state", dtype="string")
    age = keras.Input((1,), name="age")
    x = keras.layers.Concatenate()([
        keras.layers.StringLookup(vocabulary=STATES, output_mode="one_hot", name="state_lookup")(state),
        keras.layers.Rescaling(1 / 10, offset=-5, name="age_scale")(age),
    ])
    mixed = keras.Model({"state": state, "age": age}, keras.layers.Dense(1, activation="sigmoid")(x))
    mixed.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    mixed.fit({"state": tf.constant(mixed_train[["state"]].to_numpy(str)),
               "age": tf.constant(mixed_train[["age"]].to_numpy(np.float32))},
              tf.constant(mixed_train["target"].to_numpy(np.float32)), epochs=40, batch_size=32, verbose=0)
    mixed.save(root / "mixed.keras")
    return {"root": root, "seq": seq, "logits": logits, "reg": reg, "two": two, "mixed": mixed}


def _place(proj, models, name: str) -> str:
    src = models["root"] / name
    if src.is_dir():
        shutil.copytree(src, proj.root / name)
    else:
        shutil.copy(src, proj.root / name)
    return name


def _project(proj, frames, source: str, extra_model: str = "") -> None:
    proj.write("data/train.csv", frames[0])
    proj.write("data/eval.csv", frames[1])
    proj.write("deploy.yaml", deploy(source, extra_model=extra_model))


def _onnx(proj) -> ort.InferenceSession:
    return ort.InferenceSession(str(proj.root / "build" / "model" / "model.onnx"), providers=["CPUExecutionProvider"])


def _gates(report: dict) -> dict[str, bool]:
    return {g["gate"]: g["passed"] for g in report["gates"]}


def test_sequential_keras_classifier_builds_passes_gates_and_matches_keras(proj, models, iris_frames):
    test = iris_frames[1]
    _project(proj, iris_frames, _place(proj, models, "iris.keras"))
    rc, err = proj.run()
    assert rc == 0, err
    report = proj.report()
    assert all(_gates(report).values()), report["gates"]
    assert report["model"]["kind"] == "keras Sequential"
    sig = proj.signature()
    assert sig["task"] == "classification" and sig["classes"] == [0, 1, 2]
    assert sig["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}]
    assert [o["name"] for o in sig["outputs"]] == ["label", "probabilities"]
    assert sig["features"] == [
        {"name": c, "datatype": "FP32", "input": "features", "index": i} for i, c in enumerate(["sl", "sw", "pl", "pw"])
    ]
    X = test.drop(columns="target").to_numpy(np.float32)
    label, proba = _onnx(proj).run(None, {"features": X})
    expected = models["seq"].predict(X, verbose=0)
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    assert (label == expected.argmax(axis=1)).all()


def test_legacy_h5_builds_without_a_format(proj, models, iris_frames):
    _project(proj, iris_frames, _place(proj, models, "iris.h5"))
    rc, err = proj.run()
    assert rc == 0, err
    assert all(_gates(proj.report()).values())


def test_saved_model_directory_is_told_by_its_marker_and_keeps_its_input_names(proj, models, iris_frames):
    test = iris_frames[1]
    _project(proj, iris_frames, _place(proj, models, "iris_saved"))
    rc, err = proj.run()
    assert rc == 0, err
    assert all(_gates(proj.report()).values()), proj.report()["gates"]
    sig = proj.signature()
    assert [i["name"] for i in sig["inputs"]] == ["features"]
    assert [o["name"] for o in sig["outputs"]] == ["label", "probabilities"]
    X = test.drop(columns="target").to_numpy(np.float32)
    np.testing.assert_allclose(_onnx(proj).run(["probabilities"], {"features": X})[0],
                               tf.nn.softmax(models["logits"].predict(X, verbose=0)).numpy(), atol=1e-5)


def test_one_output_column_without_a_sigmoid_is_a_regression_answering_one_number_per_row(proj, models, iris_frames):
    frames = [f[["sl", "sw", "pl", "pw"]].rename(columns={"pw": "target"}) for f in iris_frames]
    proj.write("data/train.csv", frames[0])
    proj.write("data/eval.csv", frames[1])
    proj.write("deploy.yaml", deploy(_place(proj, models, "petal.keras"),
                                     gates='["r2 >= 0.7", "parity.max_abs_diff <= 1e-4"]'))
    rc, err = proj.run()
    assert rc == 0, err
    assert all(_gates(proj.report()).values()), proj.report()["gates"]
    sig = proj.signature()
    assert sig["task"] == "regression" and "classes" not in sig
    assert sig["outputs"] == [{"name": "prediction", "datatype": "FP32", "shape": [-1, 1]}]
    X = frames[1].drop(columns="target").to_numpy(np.float32)
    np.testing.assert_allclose(_onnx(proj).run(None, {"features": X})[0], models["reg"].predict(X, verbose=0),
                               atol=1e-5)


def test_two_named_inputs_stay_named_and_each_column_feeds_its_input(proj, models):
    train, test = (f[["income", "age", "target"]] for f in _two_inputs_frames())  # not the inputs' order
    _project(proj, (train, test), _place(proj, models, "two.keras"))
    rc, err = proj.run()
    assert rc == 0, err
    assert all(_gates(proj.report()).values()), proj.report()["gates"]
    sig = proj.signature()
    assert sig["task"] == "classification" and sig["classes"] == [0, 1]
    assert sorted(i["name"] for i in sig["inputs"]) == ["age", "income"]
    assert sig["features"] == [
        {"name": "income", "datatype": "FP32", "input": "income", "index": None},
        {"name": "age", "datatype": "FP32", "input": "age", "index": None},
    ]
    feeds = {c: test[[c]].to_numpy(np.float32) for c in ("age", "income")}
    label, proba = _onnx(proj).run(None, feeds)
    p = models["two"].predict(feeds, verbose=0).reshape(-1)
    np.testing.assert_allclose(proba[:, 1], p, atol=1e-5)
    assert (label == (p > 0.5)).all()


def test_a_string_column_feeds_a_string_lookup_input(proj, models):
    frames = _mixed_frames()
    _project(proj, frames, _place(proj, models, "mixed.keras"))
    rc, err = proj.run()
    assert rc == 0, err
    assert all(_gates(proj.report()).values()), proj.report()["gates"]
    sig = proj.signature()
    assert sig["features"] == [
        {"name": "state", "datatype": "BYTES", "input": "state", "index": None},
        {"name": "age", "datatype": "FP32", "input": "age", "index": None},
    ]
    test = pd.concat([frames[1].head(3), pd.DataFrame({"state": ["ZZ"], "age": [40.0], "target": [0]})])
    feeds = {"state": test[["state"]].to_numpy(object), "age": test[["age"]].to_numpy(np.float32)}
    proba = _onnx(proj).run(["probabilities"], feeds)[0]  # an unknown state is Keras' out-of-vocabulary bucket
    keras_p = models["mixed"]({n: tf.constant(v.astype(str) if n == "state" else v) for n, v in feeds.items()},
                              training=False).numpy().reshape(-1)
    np.testing.assert_allclose(proba[:, 1], keras_p, atol=1e-5)


def test_a_lookup_table_converts_to_the_same_bytes_in_every_process(proj, models, tmp_path):
    _project(proj, _mixed_frames(), _place(proj, models, "mixed.keras"))
    digests = set()
    for run in range(2):  # TensorFlow exports a hash table in a per-process order
        out = tmp_path / f"out{run}"
        subprocess.run([sys.executable, "-m", "mlready.engine.cli", "build", "-C", str(proj.root), "--no-cache",
                        "--out", str(out), "tracking.enabled=false"], check=True, capture_output=True, timeout=300)
        digests.add(hashlib.sha256((out / "model" / "model.onnx").read_bytes()).hexdigest())
    assert len(digests) == 1


def _fails_and_writes_nothing(proj, needle: str) -> str:
    rc, err = proj.run()
    assert rc != 0 and needle in err, err
    assert not (proj.root / "build").exists()
    return err


@pytest.mark.parametrize("name", ["model.keras", "model.h5"])
def test_a_file_that_is_not_a_keras_model_says_so(proj, iris_frames, name):
    proj.write(name, b"not a model at all")
    _project(proj, iris_frames, name)
    err = _fails_and_writes_nothing(proj, f"{proj.root / name}: is not a")
    assert ("Keras model file" if name.endswith(".keras") else "HDF5 file") in err


def test_a_directory_that_is_not_a_saved_model_says_so(proj, iris_frames):
    proj.write("exported/variables/variables.index", b"")
    _project(proj, iris_frames, "exported", extra_model="  format: tensorflow\n")
    _fails_and_writes_nothing(proj, f"{proj.root / 'exported'}: is not a TensorFlow SavedModel (no saved_model.pb")


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_a_lambda_layer_is_refused_not_run(proj, iris_frames, name):
    marker = proj.root / "ran"
    inp = keras.Input((4,), name="features")
    # a function that leaves a file behind when it runs (its code is pickled into the model file)
    fn = eval(f"lambda x: x * 2 + 0 * len(str(__import__('pathlib').Path({str(marker)!r}).touch()))")  # noqa: S307
    doubled = keras.layers.Lambda(fn, name="doubler")(inp)
    marker.unlink()  # ran while the model was built
    keras.Model(inp, keras.layers.Dense(3, activation="softmax")(doubled)).save(proj.root / name)
    _project(proj, iris_frames, name)
    _fails_and_writes_nothing(proj, f"{proj.root / name}: holds Python code (a Lambda layer's function), which "
                                    "mlready does not run")
    assert not marker.exists()


@keras.saving.register_keras_serializable(package="mlready_tests")
class LogGamma(keras.layers.Layer):
    def call(self, x):
        return tf.math.lgamma(tf.abs(x) + 1.0)


def test_an_op_tf2onnx_cannot_convert_names_itself_and_its_layer(proj, iris_frames):
    inp = keras.Input((4,), name="features")
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(LogGamma(name="log_gamma")(inp)))
    model.save(proj.root / "odd.keras")
    _project(proj, iris_frames, "odd.keras")
    _fails_and_writes_nothing(proj, "tf2onnx cannot convert the TensorFlow op(s) Lgamma (layer 'log_gamma')")


def test_multi_input_model_whose_inputs_name_no_data_column_is_a_located_error(proj, models, iris_frames):
    _project(proj, iris_frames, _place(proj, models, "two.keras"))
    _fails_and_writes_nothing(proj, "the input(s) 'age', 'income' name no data column")


def test_models_mlready_cannot_serve_are_refused_by_name(tmp_path):
    from mlready.generators.model import keras as keras_format
    from mlready.generators.model import saved_model
    from mlready.generators.model.source import ModelSourceError
    from mlready.generators.model.tf_convert import check_inputs

    inp = keras.Input((4,), name="features")
    two_outputs = keras.Model(inp, [keras.layers.Dense(1)(inp), keras.layers.Dense(2)(inp)])
    with pytest.raises(ModelSourceError, match="m.keras: the Keras model has 2 outputs; mlready serves models with one"):
        keras_format.graph(two_outputs, "m.keras")

    image = keras.Input((8, 8, 1), name="pixels")
    graph = keras_format.graph(keras.Model(image, keras.layers.Dense(2)(keras.layers.Flatten()(image))), "img.keras")
    assert check_inputs(graph, None, "img.keras") is None  # no data: served positionally
    with pytest.raises(ModelSourceError, match=r"img.keras: the input 'pixels' \[-1, 8, 8, 1\] FP32 is not a table row"):
        check_inputs(graph, ["a", "b"], "img.keras")

    module = tf.Module()
    module.w = tf.Variable(2.0)
    module.predict = tf.function(lambda x: {"y": x * module.w}, input_signature=[tf.TensorSpec([None, 1], tf.float32)])
    module.score = tf.function(lambda x: {"y": x + module.w}, input_signature=[tf.TensorSpec([None, 1], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"predict": module.predict, "score": module.score})
    with pytest.raises(ModelSourceError, match="no 'serving_default' signature to serve \\(signatures: predict, score\\)"):
        saved_model.graph(tf.saved_model.load(str(tmp_path / "sm")), "sm")


KERAS_TRAINER = '''
import keras
import numpy as np


def fit(X, y):
    keras.utils.set_random_seed(0)
    x = X.to_numpy(np.float32)
    scale = keras.layers.Normalization(name="scale")
    scale.adapt(x)
    model = keras.Sequential([keras.Input((x.shape[1],), name="features"), scale,
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    model.fit(x, np.asarray(y), epochs=40, batch_size=32, verbose=0)
    return model
'''


def test_a_trainer_returning_a_keras_model_is_served_and_cross_validated(proj, iris_frames):
    proj.write("train.py", KERAS_TRAINER)
    proj.write("data/train.csv", iris_frames[0])
    proj.write("data/eval.csv", iris_frames[1])
    proj.write("deploy.yaml", 'project: {name: trained}\nmodel: {source: train.py, trainer: "train:fit"}\n'
               "data: {train: data/train.csv, eval: data/eval.csv}\n"
               'readiness:\n  cv: {folds: 3, seed: 0}\n  gates: ["cv.accuracy.mean >= 0.85", "accuracy >= 0.85", '
               '"parity.max_abs_diff <= 1e-5"]\n')
    rc, err = proj.run()
    assert rc == 0, err
    report = proj.report()
    assert all(_gates(report).values()), report["gates"]
    assert proj.signature()["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}]
