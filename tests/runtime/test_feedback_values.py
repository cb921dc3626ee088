"""Regression feedback in-process: one client cannot poison the error sums for good. A true value beyond
float32's range is a 400 naming the field (its square could overflow the sum to +Inf); a prediction that is not
a finite number (a NaN input answers NaN) is joined but left out of the rows and error sums."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mlready.runtime.answers import answers_for
from mlready.runtime.config import FeedbackConfig
from mlready.runtime.errors import BadRequest
from mlready.runtime.feedback import FeedbackStore
from mlready.runtime.metrics import create_metrics
from mlready.runtime.signature import Signature

MAX_VALUE = float(np.finfo(np.float32).max)  # the largest true value taken, in magnitude


def regression() -> type:
    sig = Signature.from_dict({"inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 2]}],
                               "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}],
                               "task": "regression"})

    class Version:  # what the store reads of a served model version
        signature, answers = sig, answers_for(sig)

    Version.name, Version.version = "price", 1
    return Version


@pytest.fixture
def store():
    metrics = create_metrics()
    s = FeedbackStore(FeedbackConfig(enabled=True), metrics)
    s.registry = metrics.registry
    return s


def sums(store) -> tuple[float, float, float]:
    get = store.registry.get_sample_value
    labels = {"model": "price", "version": "1"}
    return (get("mlready_feedback_rows_total", labels), get("mlready_feedback_absolute_error_total", labels),
            get("mlready_feedback_squared_error_total", labels))


def answered(store, mv, rid: str, *values: float) -> None:
    store.remember(rid, mv, {"y": np.array([[v] for v in values], dtype=np.float32)})


@pytest.mark.parametrize(("value", "field"), [
    (1e300, "feedback[0].value"), (-1e39, "feedback[0].value"), ([1.0, 1e300], "feedback[0].value[1]")])
def test_a_value_beyond_float32s_range_is_a_400_naming_the_field(store, value, field):
    mv = regression()
    answered(store, mv, "a", 1.0)
    answered(store, mv, "b", 1.0, 2.0)
    rid = "b" if isinstance(value, list) else "a"
    with pytest.raises(BadRequest) as err:
        store.send("price", mv, [{"id": rid, "value": value}])
    assert err.value.message.startswith(f"{field}: expected a number within ±3.402823e+38 (float32's range)")
    assert sums(store) == (0, 0, 0)  # nothing of it counted
    # the largest value taken: its squared error stays finite
    assert store.send("price", mv, [{"id": "a", "value": MAX_VALUE}])["joined"] == 1
    rows, abs_err, sq_err = sums(store)
    assert rows == 1 and math.isfinite(sq_err) and abs_err == pytest.approx(MAX_VALUE)


def test_a_prediction_that_is_not_finite_is_left_out_of_the_error_sums(store):
    mv = regression()
    answered(store, mv, "nan1", float("nan"))
    answered(store, mv, "mixed", 1.0, float("nan"), float("inf"), -float("inf"))
    answered(store, mv, "good", 5.0)
    got = store.send("price", mv, [{"id": "nan1", "value": 100}, {"id": "mixed", "value": [3.0, 1, 1, 1]}])
    assert got == {"joined": 2, "expired": 0, "unknown": 0, "duplicate": 0}
    assert sums(store) == (1, 2.0, 4.0)  # only the finite row of "mixed"
    assert store.send("price", mv, [{"id": "nan1", "value": 1}])["duplicate"] == 1  # labelled: not joined again
    store.send("price", mv, [{"id": "good", "value": 2.0}])  # later labels still count
    assert sums(store) == (2, 5.0, 13.0)
