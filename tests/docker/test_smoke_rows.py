"""The image smoke test sends rows of the evaluation data read the way the build reads them: Parquet by its
suffix (``.pq`` too: it was read as CSV) and the build's feature selection (``choose_features``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlready.engine import api
from mlready.engine.actions.smoke import eval_rows
from mlready.engine.errors import StepError

from tests.k8s.helpers import copy_quickstart


@pytest.fixture
def qs(tmp_path):
    project = copy_quickstart(tmp_path / "qs")
    frame = pd.read_csv(project / "data/eval.csv")
    frame.to_parquet(project / "data/eval.pq")
    return project, frame


@pytest.mark.parametrize("name", ["data/eval.csv", "data/eval.pq"])
def test_rows_are_the_feature_columns_whatever_the_table_format(qs, name):
    project, frame = qs
    spec = api.validate(project, ["tracking.enabled=false", f"data.eval={name}"])
    rows = eval_rows(spec, {}, 5)
    want = frame.drop(columns=[spec.data.target]).head(5).to_numpy()
    assert rows.shape == want.shape and np.allclose(rows.astype(float), want)


def test_a_missing_feature_column_is_named(qs):
    project, _ = qs
    spec = api.validate(project, ["tracking.enabled=false", "data.eval=data/eval.pq"])
    with pytest.raises(StepError, match="the model was fitted on column nope, which the file lacks"):
        eval_rows(spec, {"feature_names": ["nope"]}, 5)
