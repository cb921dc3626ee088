"""The named-feature contract as the runtime reads it: strict parsing of ``features`` / ``class_names``, the
fallback from ``feature_names``, and named request data -> model inputs (no server)."""

from __future__ import annotations

import numpy as np
import pytest
from mlready.runtime import codec_tfserving, codec_v2, invocations, request_decode
from mlready.runtime.answers import answers_for
from mlready.runtime.errors import BadRequest
from mlready.runtime.signature import Signature

MATRIX = {"name": "m", "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
          "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]},
                      {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}],
          "task": "classification", "classes": [0, 1], "feature_names": ["a", "b", "c"]}
COLUMNS = {"name": "t", "task": "classification",
           "inputs": [{"name": "age", "datatype": "INT64", "shape": [-1, 1]},
                      {"name": "state", "datatype": "BYTES", "shape": [-1, 1]},
                      {"name": "nums", "datatype": "FP32", "shape": [-1, 2]}],
           "outputs": [{"name": "label", "datatype": "BYTES", "shape": [-1]}],
           "classes": ["n", "y"], "class_names": ["no", "yes"],
           "features": [{"name": "age", "datatype": "INT64", "input": "age", "index": None},
                        {"name": "state", "datatype": "BYTES", "input": "state", "index": None},
                        {"name": "w", "datatype": "FP32", "input": "nums", "index": 1},
                        {"name": "v", "datatype": "INT64", "input": "nums", "index": 0}]}


def test_feature_names_fallback_maps_names_to_positions():
    sig = Signature.from_dict(MATRIX)
    assert [(f.name, f.input, f.index, f.datatype) for f in sig.features] == [
        ("a", "x", 0, "FP32"), ("b", "x", 1, "FP32"), ("c", "x", 2, "FP32")]
    arrays, fmt = codec_tfserving.decode({"instances": [{"c": 3.0, "a": 1.0, "b": 2.0}]}, sig)
    assert fmt == "row" and arrays["x"].tolist() == [[1.0, 2.0, 3.0]] and arrays["x"].dtype == np.float32
    # positional rows keep their meaning, through the old branch
    arrays, _ = codec_tfserving.decode({"instances": [[1.0, 2.0, 3.0]]}, sig)
    assert arrays["x"].tolist() == [[1.0, 2.0, 3.0]]
    # an object keyed by the input name is still positional
    arrays, _ = codec_tfserving.decode({"instances": [{"x": [1.0, 2.0, 3.0]}]}, sig)
    assert arrays["x"].tolist() == [[1.0, 2.0, 3.0]]


def test_no_fallback_when_feature_names_do_not_fit():
    assert Signature.from_dict({**MATRIX, "feature_names": ["a", "b"]}).features is None
    assert Signature.from_dict({**MATRIX, "feature_names": ["a", "a", "b"]}).features is None


def test_mixed_features_assemble_per_input_and_by_index():
    sig = Signature.from_dict(COLUMNS)
    rows = [{"age": 40, "state": "NY", "w": 2.5, "v": 7}, {"age": 30, "state": "CA", "w": None, "v": 1}]
    arrays = sig.feature_map.from_records(rows, "instances")
    assert arrays["age"].tolist() == [[40], [30]] and arrays["age"].dtype == np.int64
    assert arrays["state"].tolist() == [["NY"], ["CA"]] and arrays["state"].dtype == object
    assert arrays["nums"][0].tolist() == [7.0, 2.5] and np.isnan(arrays["nums"][1, 1])  # null: missing (NaN)
    lists = sig.feature_map.from_lists([[40, "NY", 2.5, 7]], "instances")
    assert lists["nums"].tolist() == [[7.0, 2.5]]
    columns = sig.feature_map.from_columns({"age": [40], "state": ["NY"], "w": [2.5], "v": [7]}, "inputs")
    assert columns["state"].tolist() == [["NY"]]
    b64 = sig.feature_map.from_records([{"age": 1, "state": {"b64": "Tlk="}, "w": 1.0, "v": 1}], "instances")
    assert b64["state"].tolist() == [["NY"]]  # TF Serving's binary form, UTF-8 text for the string input


@pytest.mark.parametrize(("rows", "message"), [
    ([{"age": 40, "state": "NY", "w": 1.0, "vv": 1}], "instances[0]: unknown feature 'vv' (did you mean 'v'?); "
                                                      "model 't' takes the features: age, state, w, v"),
    ([{"age": 40, "state": "NY", "w": 1.0}], "instances[0]: missing feature 'v'"),
    ([{"age": "40", "state": "NY", "w": 1.0, "v": 1}], "instances, feature 'age': data is not a valid INT64 "
                                                       "tensor: value at index 0 is a string, expected integer"),
    ([{"age": 40, "state": 5, "w": 1.0, "v": 1}], "instances, feature 'state': value at index 0 is an integer, "
                                                  "expected text (a JSON string)"),
    ([{"age": 40, "state": "NY", "w": 1.0, "v": 1.5}], "instances, feature 'v': data is not a valid INT64"),
    ([{"age": None, "state": "NY", "w": 1.0, "v": 1}], "feature 'age': data is not a valid INT64 tensor: value at "
                                                       "index 0 is null"),
    ([{"age": 40, "state": "NY", "w": True, "v": 1}], "feature 'w': data is not a valid FP32 tensor: value at "
                                                      "index 0 is a boolean"),
    ([{"age": 40, "state": "NY", "w": [1.0, 2.0], "v": 1}], "feature 'w'"),
    ([{"age": 40, "state": "NY", "w": 1.0, "v": 1}, "row"], "instances[1]: expected an object keyed by feature name"),
    (["row"], "instances[0]: expected a list of 4 values in feature order (age, state, w, v) or an object keyed"),
])
def test_bad_named_rows_name_the_field(rows, message):
    sig = Signature.from_dict(COLUMNS)
    with pytest.raises(BadRequest) as err:
        codec_tfserving.decode({"instances": rows}, sig)
    assert message in err.value.message


@pytest.mark.parametrize(("change", "message"), [
    ({"features": []}, "features: expected a non-empty list"),
    ({"features": [{"name": "age", "datatype": "INT64", "input": "age"}]}, "features[0]: expected an object"),
    ({"features": [{"name": "age", "datatype": "INT64", "input": "nope", "index": None}]},
     "features[0].input: 'nope' is not an input"),
    ({"features": [{"name": "age", "datatype": "INT9", "input": "age", "index": None}]},
     "features[0].datatype: unknown datatype 'INT9'"),
    ({"features": [{"name": "age", "datatype": "BYTES", "input": "age", "index": None}]},
     "a BYTES feature cannot feed the INT64 input 'age'"),
    ({"features": COLUMNS["features"][:3]}, "the indexes of input 'nums'"),
    ({"features": [*COLUMNS["features"][:3], {**COLUMNS["features"][3], "index": 2}]}, "the indexes of input 'nums'"),
    ({"features": [*COLUMNS["features"], {**COLUMNS["features"][3], "name": "u", "index": 2}]},
     "the indexes of input 'nums'"),
    ({"features": [*COLUMNS["features"], {**COLUMNS["features"][0]}]}, "feature 'age' is listed twice"),
    ({"features": COLUMNS["features"][1:]}, "no feature feeds input 'age'"),
    ({"features": [{**COLUMNS["features"][0], "index": True}, *COLUMNS["features"][1:]]}, "features[0].index"),
    ({"class_names": ["no"]}, "class_names: expected one name per entry of 'classes' (2), got 1"),
    ({"class_names": [0, 1]}, "class_names: expected a list of strings"),
    ({"example": {"age": 1}}, "example: expected one row, an object keyed by the feature names"),
])
def test_signature_contract_is_strict(change, message):
    with pytest.raises(ValueError) as err:
        Signature.from_dict({**COLUMNS, **change}, where="metadata.json")
    assert message in str(err.value)


def test_v2_feature_tensors_and_their_errors():
    sig = Signature.from_dict(COLUMNS)
    body = {"inputs": [{"name": "age", "datatype": "INT64", "shape": [1], "data": [40]},
                       {"name": "state", "datatype": "BYTES", "shape": [1, 1], "data": ["NY"]},
                       {"name": "w", "datatype": "FP32", "shape": [1], "data": [2.5]},
                       {"name": "v", "datatype": "INT64", "shape": [1], "data": [7]}]}
    parsed = codec_v2.decode(body, b"", sig)
    assert parsed.arrays["nums"].tolist() == [[7.0, 2.5]] and parsed.arrays["age"].shape == (1, 1)
    bad = [
        ({**body["inputs"][2], "name": "ww"}, "unknown input 'ww' (did you mean 'w'?); model 't' takes the features: "
                                              "age, state, w, v; or its inputs: age, state, nums"),
        ({**body["inputs"][2], "datatype": "FP64"}, "input 'w': expected datatype FP32, got FP64"),
        ({**body["inputs"][2], "shape": [1, 2], "data": [1.0, 2.0]}, "input 'w': a feature takes one value per row"),
        ({"name": "nums", "datatype": "FP32", "shape": [1, 2], "data": [1.0, 2.0]}, "send either one tensor per "
                                                                                    "feature"),
    ]
    for tensor, message in bad:
        with pytest.raises(BadRequest) as err:
            codec_v2.decode({"inputs": [*body["inputs"][:2], tensor, body["inputs"][3]]}, b"", sig)
        assert message in err.value.message, err.value.message
    with pytest.raises(BadRequest, match="missing feature 'v'"):
        codec_v2.decode({"inputs": body["inputs"][:3]}, b"", sig)


def test_answers_name_classes_and_squeeze_regression():
    sig = Signature.from_dict({**MATRIX, "class_names": ["malignant", "benign"]})
    answers = answers_for(sig)
    out = answers.apply({"label": np.array([1, 0]), "probabilities": np.array([[0.2, 0.8], [0.9, 0.1]], np.float32)})
    assert out["label"].tolist() == ["benign", "malignant"]
    enc = codec_tfserving.encode(out, "row", answers)
    assert enc["predictions"][0]["label"] == "benign"
    assert enc["predictions"][0]["probabilities"] == pytest.approx({"malignant": 0.2, "benign": 0.8})
    assert codec_tfserving.encode(out, "columnar", answers)["outputs"]["probabilities"]["benign"] == \
        pytest.approx([0.8, 0.1])
    assert answers_for(Signature.from_dict(MATRIX)) is None  # built before class_names: answers as before
    strings = answers_for(Signature.from_dict(COLUMNS))
    assert strings.apply({"label": np.array(["y", "n"], dtype=object)})["label"].tolist() == ["yes", "no"]
    reg = Signature.from_dict({"name": "r", "task": "regression",
                               "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
                               "outputs": [{"name": "variable", "datatype": "FP32", "shape": [-1, 1]}]})
    assert answers_for(reg).apply({"variable": np.ones((3, 1), np.float32)})["variable"].shape == (3,)


def test_mlflow_payloads_and_csv_reshape():
    sig = Signature.from_dict(COLUMNS)
    split = {"dataframe_split": {"columns": ["age", "state", "w", "v"], "index": [0], "data": [[40, "NY", 2.5, 7]]}}
    arrays, _, fmt = request_decode.tfserving(sig, request_decode.sagemaker_json(split))
    assert fmt == "row" and arrays["nums"].tolist() == [[7.0, 2.5]]
    for bad, message in [({"dataframe_split": {"columns": ["age"], "data": [[1, 2]]}}, "dataframe_split.data[0]"),
                         ({"dataframe_records": [], "x": 1}, "unknown key(s) 'x'"),
                         ({"dataframe_records": [{}], "params": {"k": 1}}, "'params'")]:
        with pytest.raises(BadRequest, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
            request_decode.sagemaker_json(bad)
    csv = b"state,age,w,v\r\n\"NY\",40,,7\r\nCA,30,1.5,2\r\n"
    data = invocations.csv_body(csv, sig, None)
    assert data["instances"][0] == {"state": "NY", "age": 40, "w": None, "v": 7}
    assert invocations.csv_body(b"40,NY,1.5,2\n", sig, None)["instances"] == [[40, "NY", 1.5, 2]]
    with pytest.raises(BadRequest, match="CSV line 2, column 'age': expected an integer, got 'x'"):
        invocations.csv_body(b"age,state,w,v\nx,NY,1,2\n", sig, None)
    with pytest.raises(BadRequest, match="CSV header line: unknown feature 'stat' \\(did you mean 'state'\\?\\)"):
        invocations.csv_body(b"age,stat,w,v\n1,NY,1,2\n", sig, True)


def test_a_huge_unknown_feature_name_is_refused_at_once():
    """difflib's did-you-mean indexes the query: a 16 MB key cost ~4.6 s of GIL-held CPU before it was cut."""
    import time

    sig = Signature.from_dict(COLUMNS)
    t0 = time.perf_counter()
    with pytest.raises(BadRequest, match=r"unknown feature 'x{100}'; model 't' takes"):
        sig.feature_map.from_records([{"x" * 16_000_000: 1}], "instances")
    assert time.perf_counter() - t0 < 1.0
