"""Test and benchmark models, built locally (no downloads): sklearn + skl2onnx, or onnx.helper graphs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _model(graph):
    """``graph`` as an opset-17, IR-version-8 model, checked."""
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def mlp_model(sizes: list[int], seed: int = 0, input_name: str = "input", output_name: str = "output"):
    """An MLP with ReLU hidden layers and random weights: ``sizes=[64, 512, 512, 2]``."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    prev = input_name
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        w = (rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32)
        bias = np.zeros(b, dtype=np.float32)
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(bias, f"B{i}")]
        last = i == len(sizes) - 2
        out = output_name if last else f"h{i}"
        gemm_out = out if last else f"g{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"W{i}", f"B{i}"], [gemm_out]))
        if not last:
            nodes.append(helper.make_node("Relu", [gemm_out], [out]))
        prev = out
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", sizes[0]])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", sizes[-1]])],
        inits,
    )
    return _model(graph)


def half_plus_two():
    """TF Serving's documentation model: y = 0.5 * x + 2, input ``x`` of shape [-1]."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "a"], ["ax"]), helper.make_node("Add", ["ax", "b"], ["y"])],
        "half_plus_two",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch"])],
        [numpy_helper.from_array(np.array(0.5, np.float32), "a"), numpy_helper.from_array(np.array(2.0, np.float32), "b")],
    )
    return _model(graph)


def multi_input_model():
    """Three named inputs like the TF Serving REST docs' example: tag (string), signal [5], sensor [2, 2]."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["tag"], ["tag_out"]),
            helper.make_node("ReduceSum", ["signal", "axes1"], ["signal_sum"], keepdims=0),
            helper.make_node("ReduceSum", ["sensor", "axes12"], ["sensor_sum"], keepdims=0),
        ],
        "multi",
        [
            helper.make_tensor_value_info("tag", TensorProto.STRING, ["batch"]),
            helper.make_tensor_value_info("signal", TensorProto.INT64, ["batch", 5]),
            helper.make_tensor_value_info("sensor", TensorProto.INT64, ["batch", 2, 2]),
        ],
        [
            helper.make_tensor_value_info("tag_out", TensorProto.STRING, ["batch"]),
            helper.make_tensor_value_info("signal_sum", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("sensor_sum", TensorProto.INT64, ["batch"]),
        ],
        [helper.make_tensor("axes1", TensorProto.INT64, [1], [1]), helper.make_tensor("axes12", TensorProto.INT64, [2], [1, 2])],
    )
    return _model(graph)


def dynamic_matmul():
    """Input ``x`` of shape [-1, -1] times a 4x2 matrix: the signature accepts any width, the graph only 4."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])], "dyn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "width"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(np.ones((4, 2), np.float32), "W")],
    )
    return _model(graph)


def breast_cancer_logreg():
    """A logistic regression on sklearn's breast cancer data -> (onnx model, signature dict, X)."""
    from skl2onnx import to_onnx
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    X = data.data.astype(np.float32)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, data.target)
    onx = to_onnx(clf, X[:1], options={"zipmap": False}, target_opset=17)
    signature = {
        "name": "quickstart", "version": 1, "task": "classification",
        "inputs": [{"name": onx.graph.input[0].name, "datatype": "FP32", "shape": [-1, 30]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]},
                    {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}],
        "classes": [0, 1], "feature_names": [str(f) for f in data.feature_names],
    }
    return onx, signature, X


def quickstart_mlp():
    """examples/quickstart's trained model (StandardScaler + MLP 30->64->32->2) as ONNX -> (onnx model, X)."""
    import joblib
    from skl2onnx import to_onnx
    from sklearn.datasets import load_breast_cancer

    pipeline = joblib.load(Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "model.joblib")
    X = load_breast_cancer().data.astype(np.float32)
    onx = to_onnx(pipeline, X[:1], options={"zipmap": False}, target_opset=17)
    onx.graph.name = "quickstart"
    return onx, X


def write_version(repo: Path, name: str, version: int, model, metadata: dict | None = None) -> Path:
    """Write ``<repo>/<name>/<version>/model.onnx`` (+ metadata.json) atomically (rename of the version dir)."""
    final = Path(repo) / name / str(version)
    tmp = Path(repo) / name / f".tmp-{version}"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "model.onnx").write_bytes(model.SerializeToString())
    if metadata is not None:
        (tmp / "metadata.json").write_text(json.dumps(metadata))
    tmp.rename(final)
    return final


def churn_table(n: int = 400, seed: int = 0):
    """A small mixed-type table (pandas): int, float with missing values, string and bool columns; target."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    states = np.array(["CA", "NY", "TX", "WA"])
    df = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype(np.int64),
        "income": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50.0, 15.0, n)),
        "state": states[rng.integers(0, 4, n)],
        "member": rng.random(n) < 0.5,
    })
    score = (df["age"] - 45) / 20 + (df["state"] == "NY") * 1.5 - df["member"] * 1.0
    target = np.where(score + rng.normal(0, 0.5, n) > 0, "yes", "no")
    return df, target


def mixed_pipeline():
    """A scikit-learn pipeline on a mixed table (ColumnTransformer: imputer + scaler on numbers, one-hot on the
    string and bool columns), converted by skl2onnx with one typed input per column, string classes
    -> (onnx model, signature dict with features and class_names, DataFrame of rows, fitted pipeline)."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df, y = churn_table()
    pre = ColumnTransformer([
        ("age", StandardScaler(), ["age"]),
        ("income", make_pipeline(SimpleImputer(), StandardScaler()), ["income"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["state"]),
        ("flag", "passthrough", ["member"]),
    ])
    pipe = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))]).fit(df, y)
    types = [("age", Int64TensorType([None, 1])), ("income", FloatTensorType([None, 1])),
             ("state", StringTensorType([None, 1])), ("member", BooleanTensorType([None, 1]))]
    onx = to_onnx(pipe, initial_types=types, options={"zipmap": False}, target_opset=17)
    outs = [o.name for o in onx.graph.output]
    signature = {
        "name": "churn", "version": 1, "task": "classification",
        "inputs": [{"name": "age", "datatype": "INT64", "shape": [-1, 1]},
                   {"name": "income", "datatype": "FP32", "shape": [-1, 1]},
                   {"name": "state", "datatype": "BYTES", "shape": [-1, 1]},
                   {"name": "member", "datatype": "BOOL", "shape": [-1, 1]}],
        "outputs": [{"name": outs[0], "datatype": "BYTES", "shape": [-1]},
                    {"name": outs[1], "datatype": "FP32", "shape": [-1, 2]}],
        "classes": ["no", "yes"], "class_names": ["stays", "churns"],
        "feature_names": ["age", "income", "state", "member"],
        "features": [{"name": "age", "datatype": "INT64", "input": "age", "index": None},
                     {"name": "income", "datatype": "FP32", "input": "income", "index": None},
                     {"name": "state", "datatype": "BYTES", "input": "state", "index": None},
                     {"name": "member", "datatype": "BOOL", "input": "member", "index": None}],
    }
    return onx, signature, df, pipe


def linear_regression():
    """A linear regression on two named features of one matrix input -> (onnx model, signature dict, X)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2)).astype(np.float32)
    reg = LinearRegression().fit(X, X @ np.array([2.0, -1.0]) + 3.0)
    onx = to_onnx(reg, X[:1], target_opset=17)
    signature = {
        "name": "price", "version": 1, "task": "regression",
        "inputs": [{"name": onx.graph.input[0].name, "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [{"name": onx.graph.output[0].name, "datatype": "FP32", "shape": [-1, 1]}],
        "feature_names": ["rooms", "distance"],
    }
    return onx, signature, X
