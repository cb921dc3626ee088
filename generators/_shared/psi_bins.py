"""The bins of the PSI drift score, shared by the readiness check (``readiness/drift.py``: PSI of a sample), the
training reference the runtime config bakes (``runtime/drift_reference.py``) and the live drift rules
(``drift_rules.py``): the same quantile edges, value bins and categories everywhere.

Numeric columns: ``bins`` quantile bins of the reference, or one bin per value when it has few distinct values
(plus one for values the reference never had). Categorical columns (strings, categories): one bin per category
and ``__other__``. Shares are clamped at ``EPS`` in PSI. Usual reading: below 0.1 stable, 0.1-0.25 moderate
shift, above 0.25 significant shift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EPS = 1e-4
MODERATE, SIGNIFICANT = 0.1, 0.25
OTHER = "__other__"  # the bin of sample categories the reference never had


def quantile_edges(ref: np.ndarray, bins: int) -> np.ndarray | None:
    """Inner bin edges from the reference quantiles; None when the values are few enough to count exactly."""
    if len(np.unique(ref)) <= bins:
        return None
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    return edges


def column_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "non-numeric"


def numeric_values(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def reference_bins(series: pd.Series, bins: int = 10) -> dict[str, Any] | None:
    """The live-drift reference of one column, binned as ``readiness/drift.py``'s ``psi`` and ``category_psi`` bin it: numeric
    columns ``{"edges": [...]}`` (quantile bins) or ``{"values": [...]}`` (few distinct values, plus a bin for
    others), categorical ones ``{"categories": [...]}`` (plus ``__other__``), with ``shares`` per bin (missing
    values left out). None when the column has no values."""
    if column_kind(series) == "non-numeric":
        ref = series.dropna().astype(str)
        if len(ref) == 0:
            return None
        counts = ref.value_counts()
        cats = sorted(counts.index)
        return {"categories": cats, "shares": [rounded(counts[c] / len(ref)) for c in cats] + [0.0]}
    ref = numeric_values(series)
    ref = ref[np.isfinite(ref)]
    if len(ref) == 0:
        return None
    edges = quantile_edges(ref, bins)
    if edges is None:
        values = np.unique(ref)
        shares = [(ref == v).mean() for v in values]
        return {"values": [float(v) for v in values], "shares": [rounded(s) for s in shares] + [0.0]}
    counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    return {"edges": [float(e) for e in edges], "shares": [rounded(c / len(ref)) for c in counts]}
