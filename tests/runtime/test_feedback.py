"""The feedback API on a real server (loopback): true labels posted after the predictions are joined with what
the server answered (by the X-Request-Id it returned) into confusion counts and error sums on /metrics; unknown,
expired and duplicate ids are counted, not errors; bad feedback is a 400 naming the field and counts nothing;
the route is under the prediction routes' auth; the store's bounds (rows, age) hold, and a label for an
evicted prediction counts as expired."""

from __future__ import annotations

import json
import re
import time

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.server

CLASS_NAMES = ["malignant", "benign"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory, mk):
    repo = tmp_path_factory.mktemp("feedback-repo")
    onx, sig, _ = mk.breast_cancer_logreg()
    mk.write_version(repo, "quickstart", 1, onx, {**sig, "class_names": CLASS_NAMES})
    onx, sig, _ = mk.linear_regression()
    mk.write_version(repo, "price", 1, onx, sig)
    return repo


def feedback(**kw) -> dict:
    return {"feedback": {"enabled": True, **kw}}


def metrics(srv) -> dict[tuple, float]:
    """Every mlready_feedback_* sample on /metrics: (name, sorted label pairs) -> value."""
    text = httpx.get(srv.url + "/metrics", timeout=10).text
    out = {}
    for m in re.finditer(r"^(mlready_feedback_\w+)\{(.*)\} (\S+)$", text, re.M):
        if not m.group(1).endswith("_created"):
            out[(m.group(1), tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2)))))] = float(m.group(3))
    return out


def key(name: str, **labels) -> tuple:
    return (name, tuple(sorted(labels.items())))


def predict(srv, rows, rid: str | None = None, model: str = "quickstart", headers: dict | None = None
            ) -> httpx.Response:
    headers = {**(headers or {}), **({"X-Request-Id": rid} if rid is not None else {})}
    r = httpx.post(f"{srv.url}/v1/models/{model}:predict", json={"instances": rows}, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r


def post(srv, items, model: str = "quickstart", **kw) -> httpx.Response:
    return httpx.post(f"{srv.url}/v2/models/{model}/feedback", json={"feedback": items}, timeout=10, **kw)


def test_labels_join_predictions_into_confusion_counts(launch, repo, breast_cancer_X):
    srv = launch(repo, **feedback())
    rows = breast_cancer_X[:4].tolist()
    answered = [predict(srv, [r], rid=f"req-{i}").json()["predictions"][0]["label"] for i, r in enumerate(rows)]
    many = predict(srv, rows[:2])  # an id the server made, two rows
    many_pred = [p["label"] for p in many.json()["predictions"]]
    wrong = {"malignant": "benign", "benign": "malignant"}
    items = [{"id": "req-0", "label": answered[0]},  # right
             {"id": "req-1", "label": wrong[answered[1]]},  # wrong
             {"id": "req-2", "label": CLASS_NAMES.index(answered[2])},  # the raw class (0/1) names it too
             {"id": many.headers["x-request-id"], "label": [many_pred[0], wrong[many_pred[1]]]},
             {"id": "never-seen", "label": "benign"}]
    r = post(srv, items)
    assert r.status_code == 200, r.text
    assert r.json() == {"joined": 4, "expired": 0, "unknown": 1, "duplicate": 0}
    again = post(srv, [{"id": "req-0", "label": answered[0]}, {"id": "req-3", "label": answered[3]},
                       {"id": "req-3", "label": answered[3]}])
    assert again.json() == {"joined": 1, "expired": 0, "unknown": 0, "duplicate": 2}

    m = metrics(srv)
    assert m[key("mlready_feedback_rows_total", model="quickstart", version="1")] == 6
    assert m[key("mlready_feedback_ids_total", model="quickstart", outcome="joined")] == 5
    assert m[key("mlready_feedback_ids_total", model="quickstart", outcome="unknown")] == 1
    assert m[key("mlready_feedback_ids_total", model="quickstart", outcome="duplicate")] == 2
    confusion = {(d["actual"], d["predicted"]): v for (name, labels), v in m.items()
                 if name == "mlready_feedback_confusion_total" and (d := dict(labels))}
    assert sum(confusion.values()) == 6
    # the binary classifier's positive class (classes[1]): the build's precision, recall and f1 are of it
    assert m[key("mlready_feedback_positive_class", model="quickstart", **{"class": "benign"})] == 1
    assert sum(v for (a, p), v in confusion.items() if a != p) == 2  # the two wrong labels
    correct = {dict(labels)["class"]: v for (name, labels), v in m.items() if name == "mlready_feedback_correct_total"}
    assert sum(correct.values()) == 4
    for (a, p), v in confusion.items():
        if a == p:
            assert correct[a] == v


def test_regression_error_sums(launch, repo, mk):
    srv = launch(repo, **feedback())
    X = mk.linear_regression()[2][:3].tolist()
    r = predict(srv, X, rid="price-1", model="price")
    y_hat = r.json()["predictions"]
    truth = [y_hat[0] + 1.0, y_hat[1] - 2.0, y_hat[2]]
    assert post(srv, [{"id": "price-1", "value": truth}], model="price").json()["joined"] == 1
    m = metrics(srv)
    assert not any(name == "mlready_feedback_positive_class" for name, _ in m)  # a regression model has none
    assert m[key("mlready_feedback_rows_total", model="price", version="1")] == 3
    assert m[key("mlready_feedback_absolute_error_total", model="price", version="1")] == pytest.approx(3.0, abs=1e-4)
    assert m[key("mlready_feedback_squared_error_total", model="price", version="1")] == pytest.approx(5.0, abs=1e-3)
    # a label for a prediction of another model is unknown to this one, not joined
    assert post(srv, [{"id": "price-1", "label": "benign"}]).json()["unknown"] == 1

    # a NaN input (the v2 binary extension carries one) is answered NaN: its label joins, and is left out of the
    # rows and error sums (which would read NaN for good); a value whose square could overflow them is a 400
    raw = np.array([[np.nan, 1.0]], dtype=np.float32).tobytes()
    name = mk.linear_regression()[1]["inputs"][0]["name"]
    head = json.dumps({"inputs": [{"name": name, "datatype": "FP32", "shape": [1, 2],
                                   "parameters": {"binary_data_size": len(raw)}}]}).encode()
    r = httpx.post(f"{srv.url}/v2/models/price/infer", content=head + raw, timeout=10, headers={
        "Inference-Header-Content-Length": str(len(head)), "Content-Type": "application/octet-stream",
        "X-Request-Id": "price-nan"})
    assert r.status_code == 200, r.text
    assert post(srv, [{"id": "price-nan", "value": 100}], model="price").json()["joined"] == 1
    huge = post(srv, [{"id": "price-1", "value": 1e300}], model="price")
    assert huge.status_code == 400
    assert huge.json()["error"].startswith("feedback[0].value: expected a number within ±3.402823e+38")
    after = metrics(srv)
    for name in ("rows_total", "absolute_error_total", "squared_error_total"):
        k = key(f"mlready_feedback_{name}", model="price", version="1")
        assert after[k] == m[k], name


@pytest.mark.parametrize(("body", "field"), [
    ([{"id": "ok", "label": "cat"}], "feedback[0].label: \"cat\" is not one of the model's classes (malignant, "
                                     "benign)"),
    ([{"id": "ok", "label": "benign"}, {"id": "ok2", "label": [1, True]}], "feedback[1].label[1]: true is not"),
    ([{"id": "ok", "value": 1.5}], "feedback[0].label: missing (model is a classifier: send 'label')"),
    ([{"id": 7, "label": "benign"}], "feedback[0].id: expected the request id"),
    ([{"id": "ok", "label": "benign", "weight": 2}], "feedback[0].weight: unknown field"),
    (["ok"], "feedback[0]: expected an object"),
    ([{"id": "req", "label": []}], "feedback[0].label: expected a label or a list of one per row"),
])
def test_bad_feedback_is_a_400_naming_the_field_and_counts_nothing(launch, repo, breast_cancer_X, body, field):
    srv = launch(repo, **feedback())
    predict(srv, breast_cancer_X[:1].tolist(), rid="ok")
    r = post(srv, body)
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]
    m = metrics(srv)  # nothing half-counted; the series exist at 0 from the first prediction (for increase())
    assert m[key("mlready_feedback_rows_total", model="quickstart", version="1")] == 0
    confusion = [v for (name, _), v in m.items() if name == "mlready_feedback_confusion_total"]
    assert len(confusion) == 4 and sum(confusion) == 0


def test_bad_bodies_rows_mismatch_regression_type_and_limits(launch, repo, breast_cancer_X, mk):
    srv = launch(repo, **feedback(max_items=2))
    predict(srv, breast_cancer_X[:2].tolist(), rid="two-rows")
    predict(srv, mk.linear_regression()[2][:1].tolist(), rid="p", model="price")
    cases = [
        (post(srv, [{"id": "two-rows", "label": "benign"}]), 400,
         "feedback[0].label: request 'two-rows' answered 2 rows, got 1 labels"),
        (post(srv, [{"id": "p", "value": "3.5"}], model="price"), 400,
         'feedback[0].value: expected a finite number, got "3.5"'),
        (post(srv, [{"id": "a", "label": "benign"}] * 3), 400, "at most 2 items per request (feedback.max_items)"),
        (httpx.post(srv.url + "/v2/models/quickstart/feedback", content=b"{not json", timeout=10), 400,
         "not valid JSON"),
        (httpx.post(srv.url + "/v2/models/quickstart/feedback", json=[1], timeout=10), 400, 'expected {"feedback"'),
        (httpx.get(srv.url + "/v2/models/quickstart/feedback", timeout=10), 405, "GET is not allowed"),
        (post(srv, [], model="nope"), 404, "nope"),
    ]
    for r, status, text in cases:
        assert r.status_code == status, r.text
        assert text in r.json()["error"]
    huge = httpx.post(srv.url + "/v2/models/price/feedback", timeout=10,
                      content=b'{"feedback": [{"id": "p", "value": 1e400}]}')  # overflows to inf: refused
    assert huge.status_code == 400 and "infinity" in huge.json()["error"]


def test_feedback_off_is_404_and_auth_guards_it(launch, repo, breast_cancer_X):
    off = launch(repo)
    r = post(off, [])
    assert r.status_code == 404 and "feedback is off" in r.json()["error"]
    srv = launch(repo, **feedback(), auth={"token_env": "MLREADY_TEST_TOKEN"}, env={"MLREADY_TEST_TOKEN": "s3cret"})
    good = {"Authorization": "Bearer s3cret"}
    predict(srv, breast_cancer_X[:1].tolist(), rid="a1", headers=good)
    assert post(srv, [{"id": "a1", "label": "benign"}]).status_code == 401
    assert post(srv, [{"id": "a1", "label": "benign"}], headers={"Authorization": "Bearer nope"}).status_code == 401
    assert post(srv, [{"id": "a1", "label": "benign"}], headers=good).json()["joined"] == 1


def test_store_bounds_evict_oldest_by_rows_and_age(launch, repo, breast_cancer_X):
    srv = launch(repo, **feedback(max_rows=3, max_age_s=1))
    rows = breast_cancer_X[:1].tolist()
    for i in range(4):  # four one-row predictions in a store of three rows: the first is evicted
        predict(srv, rows, rid=f"b-{i}")
    assert post(srv, [{"id": "b-0", "label": "benign"}]).json() == {"joined": 0, "expired": 1, "unknown": 0,
                                                                     "duplicate": 0}
    assert post(srv, [{"id": "b-3", "label": "benign"}]).json()["joined"] == 1
    time.sleep(1.2)  # past max_age_s: the rest expired
    assert post(srv, [{"id": "b-2", "label": "benign"}]).json() == {"joined": 0, "expired": 1, "unknown": 0,
                                                                     "duplicate": 0}
    assert post(srv, [{"id": "b-9", "label": "benign"}]).json()["unknown"] == 1  # never seen
    # no more labels in one request than the store holds predicted rows: checking each one is the cost
    too_many = post(srv, [{"id": "b-9", "label": ["benign"] * 2}, {"id": "b-8", "label": ["benign", "malignant"]}])
    assert too_many.status_code == 400
    assert too_many.json()["error"] == ("feedback: 4 labels/values in one request, more than the 3 predicted rows "
                                        "the store holds (feedback.max_rows)")


def test_config_bounds():
    from mlready.runtime.config import ConfigError, RuntimeConfig

    for bad, text in [({"max_rows": 0}, "feedback.max_rows: expected 1..10000000, got 0"),
                      ({"max_age_s": 0.5}, "feedback.max_age_s: expected 1..604800 seconds, got 0.5"),
                      ({"max_items": 10**7}, "feedback.max_items: expected 1..1000000")]:
        with pytest.raises(ConfigError, match=re.escape(text)):
            RuntimeConfig.from_dict({"model_repository": "/m", "feedback": {"enabled": True, **bad}})
    with pytest.raises(ConfigError, match="feedback.enabled: needs workers: 1"):
        RuntimeConfig.from_dict({"model_repository": "/m", "workers": 2, "feedback": {"enabled": True}})


def test_grpc_predictions_join_and_a_probabilities_only_answer_is_its_argmax(launch, repo, breast_cancer_X):
    import grpc
    import numpy as np
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb
    from mlready.runtime.proto import grpc_predict_v2_pb2_grpc as pb_grpc

    srv = launch(repo, **feedback())
    req = pb.ModelInferRequest(model_name="quickstart")
    req.inputs.add(name="X", datatype="FP32", shape=[3, 30])
    req.raw_input_contents.append(np.asarray(breast_cancer_X[:3], dtype=np.float32).tobytes())
    req.outputs.add(name="probabilities")  # no label output: the class predicted is the most probable one
    with grpc.insecure_channel(srv.grpc) as channel:
        answer = pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(req, timeout=10,
                                                                      metadata=[("x-request-id", "g-1")])
    proba = np.frombuffer(answer.raw_output_contents[0], dtype=np.float32).reshape(3, 2)
    predicted = [CLASS_NAMES[i] for i in proba.argmax(axis=1)]
    assert post(srv, [{"id": "g-1", "label": ["benign"] * 3}]).json()["joined"] == 1
    m = metrics(srv)
    assert m[key("mlready_feedback_rows_total", model="quickstart", version="1")] == 3
    for p in set(predicted):
        assert m[key("mlready_feedback_confusion_total", model="quickstart", version="1", actual="benign",
                     predicted=p)] == predicted.count(p)


def test_grpc_feedback_service_joins_labels_with_the_rest_checks_and_auth(launch, repo, breast_cancer_X, mk):
    """mlready.v1.Feedback/Send with a real grpcio client: the same store, outcomes, field-naming errors (as
    INVALID_ARGUMENT, counting nothing of the call) and auth as REST's feedback route."""
    import grpc
    import numpy as np
    from mlready.runtime.proto import feedback_pb2 as fpb
    from mlready.runtime.proto import feedback_pb2_grpc as fpb_grpc
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb
    from mlready.runtime.proto import grpc_predict_v2_pb2_grpc as pb_grpc

    token = [("authorization", "Bearer s3cret")]
    srv = launch(repo, **feedback(max_items=3), auth={"token_env": "MLREADY_TEST_TOKEN"},
                 env={"MLREADY_TEST_TOKEN": "s3cret"})
    auth = {"Authorization": "Bearer s3cret"}
    req = pb.ModelInferRequest(model_name="quickstart")
    req.inputs.add(name="X", datatype="FP32", shape=[3, 30])
    req.raw_input_contents.append(np.asarray(breast_cancer_X[:3], dtype=np.float32).tobytes())
    predict(srv, breast_cancer_X[3:4].tolist(), rid="r-1", headers=auth)  # answered over REST, labelled over gRPC
    predict(srv, mk.linear_regression()[2][:1].tolist(), rid="p-1", model="price", headers=auth)

    def send(*items, model="quickstart", metadata=token):
        request = fpb.FeedbackRequest(model_name=model, feedback=[fpb.FeedbackItem(**i) for i in items])
        return fpb_grpc.FeedbackStub(channel).Send(request, timeout=10, metadata=metadata)

    def refused(code, text, *items, **kw):
        with pytest.raises(grpc.RpcError) as err:
            send(*items, **kw)
        assert err.value.code() == code, err.value.details()
        assert text in err.value.details()

    with grpc.insecure_channel(srv.grpc) as channel:
        pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(req, timeout=10, metadata=[*token, ("x-request-id", "g-1")])
        bad = grpc.StatusCode.INVALID_ARGUMENT
        refused(bad, "feedback[1].label[0]: \"cat\" is not one of the model's classes (malignant, benign)",
                {"id": "g-1", "label": ["benign"] * 3}, {"id": "r-1", "label": ["cat"]})
        refused(bad, "feedback[0].label: missing (model is a classifier: send 'label')", {"id": "r-1", "value": [1]})
        refused(bad, "feedback[0].id: expected the request id", {"label": ["benign"]})
        refused(bad, "feedback[0].label: request 'g-1' answered 3 rows, got 1 labels", {"id": "g-1", "label": ["benign"]})
        refused(bad, "feedback: at most 3 items per request (feedback.max_items), got 4", *[{"id": "r-1"}] * 4)
        refused(bad, "feedback[0].value[0]: expected a finite number, got nan", {"id": "p-1", "value": [float("nan")]},
                model="price")
        refused(bad, "feedback[0].value[1]: expected a number within ±3.402823e+38 (float32's range), got 1e+300",
                {"id": "p-1", "value": [1.0, 1e300]}, model="price")
        refused(bad, "model_name: the model that answered the requests is required", {"id": "r-1"}, model="")
        refused(grpc.StatusCode.NOT_FOUND, "model 'nope' not found", {"id": "r-1", "label": ["benign"]}, model="nope")
        refused(grpc.StatusCode.UNAUTHENTICATED, "", {"id": "r-1", "label": ["benign"]}, metadata=None)
        assert metrics(srv)[key("mlready_feedback_rows_total", model="quickstart", version="1")] == 0  # none counted

        # the raw class as text ("0": gRPC labels are strings) names malignant, as REST's 0 does
        answer = send({"id": "g-1", "label": ["benign", "benign", "0"]}, {"id": "r-1", "label": ["malignant"]},
                      {"id": "never-seen", "label": ["benign"]})
        assert (answer.joined, answer.expired, answer.unknown, answer.duplicate) == (2, 0, 1, 0)
        assert send({"id": "g-1", "label": ["benign"] * 3}).duplicate == 1
        assert send({"id": "p-1", "value": [3.5]}, model="price").joined == 1
    m = metrics(srv)
    assert m[key("mlready_feedback_rows_total", model="quickstart", version="1")] == 4
    assert m[key("mlready_feedback_rows_total", model="price", version="1")] == 1
    assert sum(v for (name, labels), v in m.items()
               if name == "mlready_feedback_confusion_total" and dict(labels)["actual"] == "malignant") == 2


def test_grpc_feedback_off_is_unimplemented(launch, repo):
    import grpc
    from mlready.runtime.proto import feedback_pb2 as fpb
    from mlready.runtime.proto import feedback_pb2_grpc as fpb_grpc

    srv = launch(repo)
    with grpc.insecure_channel(srv.grpc) as channel, pytest.raises(grpc.RpcError) as err:
        fpb_grpc.FeedbackStub(channel).Send(fpb.FeedbackRequest(model_name="quickstart"), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "feedback is off" in err.value.details()
