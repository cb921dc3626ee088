"""A missing value for a feature the model has no imputer for: a bad row in batch scoring (named with its reason),
as it is a 400 on the server, never a row scored NaN with an arbitrary label. Features the model imputes keep
taking missing values (tests/batch, the tabular example's pipeline)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tests.runtime.conftest import models


def test_a_missing_value_without_an_imputer_is_a_bad_row():
    from mlready.runtime.score.scorer import TableScorer

    onx, signature, X = models.breast_cancer_logreg()
    scorer = TableScorer.from_bytes(onx.SerializeToString(), signature)
    assert len(scorer.features.no_missing) == 30  # scaler + logistic regression: no imputer anywhere
    columns = {name: X[:3, j].astype(np.float64).tolist() for j, name in enumerate(signature["feature_names"])}
    columns["mean radius"][1] = None
    scored = scorer.score(pa.table(columns), "in.csv")
    assert scored.bad == [(1, "mean radius", "missing value (the model has no imputer for this feature)")]
    assert scored.good is not None and scored.good.tolist() == [True, False, True]
