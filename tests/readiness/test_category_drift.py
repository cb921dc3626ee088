"""Categorical drift: PSI over category shares, sample categories the reference never had pooled as __other__."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from mlready.generators.readiness.drift import EPS, category_psi, data_checks


def by_hand(r: list[float], s: list[float]) -> float:
    return sum((max(b, EPS) - max(a, EPS)) * math.log(max(b, EPS) / max(a, EPS)) for a, b in zip(r, s, strict=True))


def test_psi_over_category_shares():
    ref = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    smp = pd.Series(["a"] * 20 + ["b"] * 30 + ["c"] * 50)
    value, unseen, listed = category_psi(ref, smp)
    assert value == pytest.approx(by_hand([0.5, 0.3, 0.2, 0.0], [0.2, 0.3, 0.5, 0.0]))
    assert unseen == 0.0
    assert listed[0] == {"category": "a", "reference": 0.5, "sample": 0.2}


def test_unseen_categories_pool_as_other_and_missing_values_are_left_out():
    ref = pd.Series(["a", "b"] * 50)
    smp = pd.Series(["a"] * 40 + ["z"] * 5 + ["y"] * 5 + [None] * 10)
    value, unseen, listed = category_psi(ref, smp)
    assert unseen == pytest.approx(0.2)  # 10 of the 50 present values
    assert {"category": "__other__", "reference": 0.0, "sample": 0.2} in listed
    assert value == pytest.approx(by_hand([0.5, 0.5, 0.0], [0.8, 0.0, 0.2]))


def test_data_checks_pick_the_measure_by_column_kind():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"state": rng.choice(["CA", "NY"], 500), "x": rng.normal(size=500)})
    smp = pd.DataFrame({"state": rng.choice(["CA", "NY", "TX"], 200), "x": rng.normal(size=200)})
    rows = {r["feature"]: r for r in data_checks(ref, smp, ["state", "x"])["features"]}
    assert rows["state"]["measure"] == "category_psi" and rows["state"]["out_of_range"] > 0.2
    assert rows["x"]["measure"] == "quantile_psi" and "categories" not in rows["x"]
    assert rows["state"]["psi_level"] == "significant"  # a third of the sample is a state never seen
