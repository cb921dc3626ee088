"""Live drift counting (issue 16 §2): the reference baked by the build's binning, a real server counting rows per
(feature, bin) and per predicted class, exported on /metrics next to the reference shares; the counts are
checked against numpy binning of the same rows (the readiness PSI's own searchsorted)."""

from __future__ import annotations

import json
import re

import httpx
import numpy as np
import pandas as pd
import pytest
from mlready.generators._shared.psi_bins import reference_bins
from mlready.runtime.config import ConfigError, DriftFeatureConfig, RuntimeConfig
from mlready.runtime.drift import bin_labels


def _drift_config(frame: pd.DataFrame, binding: list[tuple[str, str, int | None]], prediction: dict) -> dict:
    feats = [{"name": c, "input": i, "index": k, **reference_bins(frame[c], 10)} for c, i, k in binding]
    return {"features": feats, "prediction": prediction}


def _quickstart_drift(sig: dict, X: np.ndarray) -> dict:
    """The breast-cancer model's reference: its 30 columns of one input, and the predicted class shares."""
    names = sig["feature_names"]
    return _drift_config(pd.DataFrame(X, columns=names), [(n, sig["inputs"][0]["name"], i) for i, n in
                                                          enumerate(names)],
                         {"name": "prediction", "input": "label", "values": [0.0, 1.0], "shares": [0.4, 0.6, 0.0]})


def _metrics(url: str, model: str) -> dict[tuple[str, str, str], float]:
    text = httpx.get(url + "/metrics", timeout=5).text
    out = {}
    for m in re.finditer(r'^(mlready_drift_\w+)\{bin="([^"]*)",feature="([^"]*)",model="([^"]*)"\} (\S+)$',
                         text, re.M):
        if m[4] == model:
            out[(m[1], m[3], m[2])] = float(m[5])
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory, mk):
    from tests.runtime.conftest import start_server

    repo = tmp_path_factory.mktemp("drift-repo")
    onx, sig, X = mk.breast_cancer_logreg()
    mk.write_version(repo, "quickstart", 1, onx, sig)
    c_onx, c_sig, df, pipe = mk.mixed_pipeline()
    mk.write_version(repo, "churn", 1, c_onx, c_sig)
    names = sig["feature_names"]
    qs = _quickstart_drift(sig, X)
    churn = _drift_config(df, [(f["name"], f["input"], f["index"]) for f in c_sig["features"]],
                          {"name": "prediction", "input": "label", "categories": ["no", "yes"],
                           "shares": [0.5, 0.5, 0.0]})
    mk.write_version(repo, "mismatch", 1, onx, sig)  # its reference names an input the model does not have
    wrong = {"features": [{**qs["features"][0], "input": "nope"}]}
    server = start_server(tmp_path_factory.mktemp("drift-srv"), repo,
                          models={"quickstart": {"drift": qs}, "churn": {"drift": churn}, "mismatch": {"drift": wrong}})
    yield {"server": server, "X": X, "names": names, "qs": qs, "df": df, "churn": churn, "pipe": pipe}
    server.stop()


@pytest.mark.server
def test_server_counts_rows_per_feature_bin_and_predicted_class(served) -> None:
    srv, X, qs = served["server"], served["X"], served["qs"]
    rows = X[:50] * np.float32(1.5)  # shifted: the counts must follow the rows sent, not the reference
    before = _metrics(srv.url, "quickstart")
    assert before[("mlready_drift_rows_total", "mean radius", "0")] == 0
    body = {"inputs": [{"name": "X", "datatype": "FP32", "shape": list(rows.shape),
                        "data": rows.ravel().tolist()}]}
    r = httpx.post(srv.url + "/v2/models/quickstart/infer", json=body, timeout=10)
    if r.status_code == 400 and "input" in r.text:  # the input's ONNX name
        body["inputs"][0]["name"] = json.loads(httpx.get(srv.url + "/v2/models/quickstart", timeout=5).text)[
            "inputs"][0]["name"]
        r = httpx.post(srv.url + "/v2/models/quickstart/infer", json=body, timeout=10)
    assert r.status_code == 200, r.text
    labels = np.asarray(next(o for o in r.json()["outputs"] if o["name"] == "label")["data"])
    for for_row in (0, 7, 29):  # three features: the live count of each bin is numpy's binning of the rows
        f = qs["features"][for_row]
        expected = np.bincount(np.searchsorted(f["edges"], rows[:, for_row].astype(np.float64), side="right"),
                               minlength=len(f["edges"]) + 1)
        bins = bin_labels(DriftFeatureConfig(**f))
        now = _metrics(srv.url, "quickstart")
        assert [now[("mlready_drift_rows_total", f["name"], b)] for b in bins] == expected.tolist()
        shares = [now[("mlready_drift_reference_share", f["name"], b)] for b in bins]
        assert shares == pytest.approx(f["shares"])
    after = _metrics(srv.url, "quickstart")
    assert after[("mlready_drift_rows_total", "__prediction__", "1")] == (labels == 1).sum()
    assert after[("mlready_drift_rows_total", "__prediction__", "0")] == (labels == 0).sum()
    assert after[("mlready_drift_rows_total", "__prediction__", "__other__")] == 0


@pytest.mark.server
def test_server_counts_categories_and_unseen_values_of_a_per_column_model(served) -> None:
    srv, df = served["server"], served["df"].head(40).copy()
    df.loc[:9, "state"] = "ZZ"  # unseen in the reference: __other__
    records = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
               for row in json.loads(df.to_json(orient="records"))]
    r = httpx.post(srv.url + "/v1/models/churn:predict", json={"instances": records}, timeout=10)
    assert r.status_code == 200, r.text
    got = _metrics(srv.url, "churn")
    counts = df["state"].value_counts()
    for state in ("CA", "NY", "TX", "WA"):
        assert got[("mlready_drift_rows_total", "state", state)] == counts.get(state, 0)
    assert got[("mlready_drift_rows_total", "state", "__other__")] == 10
    # missing incomes are not counted (as the readiness PSI leaves them out)
    income = sum(v for (n, f, _), v in got.items() if n == "mlready_drift_rows_total" and f == "income")
    assert income == df["income"].notna().sum()
    member = served["churn"]["features"][3]
    assert member["values"] == [0.0, 1.0]  # booleans bin as 0/1
    assert got[("mlready_drift_rows_total", "member", "1")] == df["member"].sum()
    predicted = served["pipe"].predict(df)
    assert got[("mlready_drift_rows_total", "__prediction__", "yes")] == (predicted == "yes").sum()


def test_config_rejects_a_reference_that_does_not_add_up() -> None:
    base = {"model_repository": "/m", "models": {"m": {"drift": {"features": [
        {"name": "a", "input": "x", "index": 0, "edges": [1.0, 2.0], "shares": [0.5, 0.5]}]}}}}
    with pytest.raises(ConfigError, match=r"models\.m\.drift\.features\[0\]\.shares: expected 3 shares"):
        RuntimeConfig.from_dict(base)
    base["models"]["m"]["drift"]["features"][0].update(edges=[2.0, 1.0], shares=[0.2, 0.3, 0.5])
    with pytest.raises(ConfigError, match=r"features\[0\]: edges and values must be strictly increasing"):
        RuntimeConfig.from_dict(base)


@pytest.mark.server
def test_a_reference_for_another_model_turns_counting_off_not_serving(served) -> None:
    srv, X = served["server"], served["X"]
    r = httpx.post(srv.url + "/v1/models/mismatch:predict", json={"instances": X[:3].tolist()}, timeout=10)
    assert r.status_code == 200, r.text
    assert _metrics(srv.url, "mismatch") == {}
    assert "model 'mismatch' version 1: drift counting off: the drift reference names input 'nope'" in srv.logs()


def test_pending_batches_are_bounded_and_binned_at_the_threshold() -> None:
    """The request path only appends; at FLUSH_ROWS rows the pending batches are binned and released, so memory
    stays bounded however long no scrape comes."""
    from mlready.runtime import drift as d
    from mlready.runtime.config import DriftConfig

    ref = DriftConfig(features=(DriftFeatureConfig("a", (0.5, 0.5), "x", 0, edges=(0.0,)),))
    counter = d.DriftCounter("m", ref, ["y"])
    rows = np.array([[-1.0], [1.0], [np.nan], [2.0]], dtype=np.float32)
    for _ in range(d.FLUSH_ROWS // 4 - 1):
        counter.observe({"x": rows}, [np.zeros(4)])
    assert counter._pending_rows == d.FLUSH_ROWS - 4 and counter.counts.sum() == 0  # nothing binned yet
    counter.observe({"x": rows}, [np.zeros(4)])
    assert counter._pending == [] and counter.counts.tolist() == [d.FLUSH_ROWS // 4, d.FLUSH_ROWS // 2]
    counter.observe({"x": rows[:1]}, [np.zeros(1)])
    assert counter.snapshot().tolist() == [d.FLUSH_ROWS // 4 + 1, d.FLUSH_ROWS // 2]  # a scrape bins the rest


@pytest.mark.server
def test_with_workers_the_exported_counts_are_the_sum_over_the_workers(launch, tmp_path, mk) -> None:
    """workers: 2 (prometheus_client's multiprocess mode): each worker publishes its counts to the shared metric
    files, so /metrics (answered by either worker) exports every bin, the reference shares and all rows sent."""
    import time

    repo = tmp_path / "repo"
    onx, sig, X = mk.breast_cancer_logreg()
    mk.write_version(repo, "quickstart", 1, onx, sig)
    qs = _quickstart_drift(sig, X)
    srv = launch(repo, workers=2, models={"quickstart": {"drift": qs}})
    rows = X[:40] * np.float32(1.3)
    for i in range(0, len(rows), 2):  # a new connection each: the kernel spreads them over the workers
        r = httpx.post(f"{srv.url}/v1/models/quickstart:predict", json={"instances": rows[i:i + 2].tolist()},
                       timeout=10)
        assert r.status_code == 200, r.text
    f = qs["features"][3]
    bins = bin_labels(DriftFeatureConfig(**f))
    expected = np.bincount(np.searchsorted(f["edges"], rows[:, 3].astype(np.float64), side="right"),
                           minlength=len(bins)).tolist()
    deadline = time.monotonic() + 15  # published every second
    while True:
        now = _metrics(srv.url, "quickstart")
        got = [now.get(("mlready_drift_rows_total", f["name"], b)) for b in bins]
        if got == expected or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert got == expected, (got, expected)
    assert [now[("mlready_drift_reference_share", f["name"], b)] for b in bins] == pytest.approx(f["shares"])
    predicted = [now[("mlready_drift_rows_total", "__prediction__", b)] for b in ("0", "1", "__other__")]
    assert sum(predicted) == len(rows) and predicted[2] == 0
