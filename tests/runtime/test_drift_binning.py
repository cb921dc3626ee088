"""Live drift binning in-process (runtime/drift.py): the counts of quantile-binned features are exactly numpy's
``searchsorted(edges, x.astype(float64), side="right")`` (the readiness PSI's binning), whatever the input dtype,
at and beside every edge (float32 values one ulp either side of a float64 edge, edges beyond float32's range),
for NaN, infinities, signed zeros and subnormals, features with different numbers of edges, column subsets and
one-column inputs, a regression prediction's value bins, and batches bigger than one comparison pass."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlready.runtime import drift as d
from mlready.runtime.config import DriftConfig, DriftFeatureConfig

DTYPES = ["float32", "float64", "float16", ">f4", "<f8", "int32", "int64", "uint8"]
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def _feature(name: str, edges, input_name: str, index: int | None) -> DriftFeatureConfig:
    edges = tuple(float(e) for e in edges)
    return DriftFeatureConfig(name, tuple([1 / (len(edges) + 1)] * (len(edges) + 1)), input_name, index, edges=edges)


def _numpy_bins(edges, column: np.ndarray) -> list[int]:
    col = column.astype(np.float64)
    col = col[~np.isnan(col)]
    return np.bincount(np.searchsorted(np.asarray(edges, dtype=np.float64), col, side="right"),
                       minlength=len(edges) + 1).tolist()


def _near(edges) -> list[float]:
    """Values at, and one float32 / float64 step either side of, every edge; specials."""
    out = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 5e-324, 3.4028235e38, -3.4028235e38]
    with np.errstate(over="ignore"):  # edges beyond float32's range: their float32 neighbours are infinite
        for e in edges:
            e32 = np.float32(e)
            out += [e, float(e32), float(np.nextafter(e32, np.float32(np.inf))),
                    float(np.nextafter(e32, np.float32(-np.inf))), float(np.nextafter(e, np.inf)),
                    float(np.nextafter(e, -np.inf))]
    return out


def _cast(values: np.ndarray, dtype: str) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        low, high = max(np.iinfo(dt).min, -2**53), min(np.iinfo(dt).max, 2**53)  # exact as floats
        return np.clip(np.round(np.nan_to_num(values)), low, high).astype(dt)
    with np.errstate(over="ignore"):
        return values.astype(dt)


edge_floats = st.floats(allow_nan=False, allow_infinity=False, width=64) | st.floats(-1e3, 1e3, width=32)


@st.composite
def cases(draw):
    n_feat = draw(st.integers(1, 4))
    edges = [sorted(set(draw(st.lists(edge_floats, min_size=1, max_size=9)))) for _ in range(n_feat)]
    pool = [v for e in edges for v in _near(e)]
    rows = draw(st.integers(1, 30))
    values = draw(st.lists(st.sampled_from(pool) | st.floats(width=64), min_size=rows * (n_feat + 2),
                           max_size=rows * (n_feat + 2)))
    return edges, draw(st.sampled_from(DTYPES)), np.array(values, dtype=np.float64).reshape(rows, n_feat + 2)


@SETTINGS
@given(cases())
def test_counts_are_numpys_binning_for_any_dtype_edge_and_value(case) -> None:
    edges, dtype, values = case
    x = _cast(values, dtype)  # columns 0, 2, 3, ...: features (1 is not read: a column subset, not a slice)
    columns = [0, *range(2, len(edges) + 1)]
    feats = [_feature(f"f{j}", e, "x", c) for j, (e, c) in enumerate(zip(edges, columns, strict=True))]
    feats.append(_feature("alone", edges[0], "z", None))  # a one-column input
    pred = _feature("prediction", edges[-1], "y", None)
    counter = d.DriftCounter("m", DriftConfig(features=tuple(feats), prediction=pred), ["y"])
    z, y = x[:, -1].copy(), x[:, 1].copy()
    half = len(x) // 2  # two batches: the pending ones are binned together
    counter.observe({"x": x[:half], "z": z[:half]}, [y[:half]])
    counter.observe({"x": x[half:], "z": z[half:]}, [y[half:]])
    got = counter.snapshot().tolist()
    expected = [n for e, c in zip(edges, columns, strict=True) for n in _numpy_bins(e, x[:, c])]
    expected += _numpy_bins(edges[0], z) + _numpy_bins(edges[-1], y)
    assert got == expected


def test_float32_values_one_ulp_from_a_float64_edge_fall_on_numpys_side() -> None:
    """A float64 edge between two float32 values: the float32 just below it is in the lower bin, the one just
    above in the upper bin, whether float32 rounds the edge up (0.1) or down (0.7): compared with the edge
    rounded to float32, the value just below 0.7 would be counted in the upper bin."""
    edges = (0.1, 0.7, 1e39)  # the last one beyond float32's range
    x = []
    for e in edges[:2]:
        e32 = np.float32(e)
        up = e32 if float(e32) > e else np.nextafter(e32, np.float32(np.inf))
        x += [np.nextafter(up, np.float32(-np.inf)), up]
    x = np.array([*x, np.float32(3e38)], dtype=np.float32).reshape(-1, 1)
    assert float(np.float32(0.1)) > 0.1 and float(np.float32(0.7)) < 0.7
    counter = d.DriftCounter("m", DriftConfig(features=(_feature("a", edges, "x", 0),)), ["y"])
    counter.observe({"x": x}, [np.zeros(len(x))])
    assert counter.snapshot().tolist() == _numpy_bins(edges, x[:, 0]) == [1, 2, 2, 0]


def test_a_pending_backlog_larger_than_one_comparison_pass_is_counted_whole(monkeypatch) -> None:
    """Rows are compared in passes of bounded size (the boolean table stays within CHUNK_BYTES): every pass
    counts, at the pass boundaries too."""
    monkeypatch.setattr(d, "CHUNK_BYTES", 3 * 4 * 7)  # 3 features x 4 steps: 7 rows per pass
    rng = np.random.default_rng(0)
    edges = [(-1.0, 0.0, 1.0), (0.5,), (-0.5, 0.25)]
    feats = tuple(_feature(f"f{j}", e, "x", j) for j, e in enumerate(edges))
    counter = d.DriftCounter("m", DriftConfig(features=feats), ["y"])
    assert next(iter(counter.groups)).chunk == 7
    x = rng.normal(size=(100, 3)).astype(np.float32)
    x[::9, 1] = np.nan
    counter.observe({"x": x}, [np.zeros(100)])
    assert counter.snapshot().tolist() == [n for j, e in enumerate(edges) for n in _numpy_bins(e, x[:, j])]


def test_a_prediction_only_reference_flushes_at_the_row_threshold() -> None:
    """A reference of the predictions alone (no input read) is bounded by rows too: its pending outputs are
    binned and released at FLUSH_ROWS, not held until a scrape."""
    ref = DriftConfig(prediction=DriftFeatureConfig("prediction", (0.5, 0.5, 0.0), "label", values=(0.0, 1.0)))
    counter = d.DriftCounter("m", ref, ["label"])
    batch = np.array([0, 1, 1, 0], dtype=np.int64)
    for _ in range(d.FLUSH_ROWS // 4):
        counter.observe({"x": np.zeros((4, 3), np.float32)}, [batch])
    assert counter._pending == []
    assert counter.counts.tolist() == [d.FLUSH_ROWS // 2, d.FLUSH_ROWS // 2, 0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_group_reads_its_columns_of_a_wider_input_without_widening_floats(dtype) -> None:
    feats = tuple(_feature(f"f{j}", (0.0,), "x", c) for j, c in enumerate((3, 4, 5)))
    group = d.DriftCounter("m", DriftConfig(features=feats), ["y"]).groups[0]
    x = np.arange(-12, 12, dtype=dtype).reshape(4, 6)
    block = group.block(x)
    assert block.shape == (3, 4) and block.dtype == np.dtype(dtype) and np.shares_memory(block, x)  # a slice
    assert group.counts(block).tolist() == [n for c in (3, 4, 5) for n in _numpy_bins((0.0,), x[:, c])]
