"""Data checks of a sample against the training reference: columns, dtypes, missing values, ranges, PSI.

PSI (population stability index) per feature is ``PSI = Σ (s - r) · ln(s / r)`` over bins' shares ``r`` in the
reference and ``s`` in the sample (empty bins count as ``EPS``). Numeric columns (measure ``quantile_psi``):
the reference is cut into ``bins`` quantile bins, or one bin per value when it has few distinct values.
Categorical columns (strings, categories; measure ``category_psi``): one bin per category of the reference,
and one more, ``__other__``, for every sample value the reference never had; their ``out_of_range`` is that
unseen share, and ``categories`` lists the largest shares side by side. Missing values are left out of PSI
(``missing_rate`` counts them). Usual reading: below 0.1 stable, 0.1–0.25 moderate shift, above 0.25
significant shift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlready.generators._shared.psi_bins import EPS, MODERATE, OTHER, SIGNIFICANT  # noqa: F401 - re-exported
from mlready.generators._shared.psi_bins import column_kind as _kind
from mlready.generators._shared.psi_bins import numeric_values as _numeric
from mlready.generators._shared.psi_bins import quantile_edges as _edges
from mlready.generators._shared.psi_bins import rounded as _r

LISTED_CATEGORIES = 20


def psi_level(psi: float) -> str:
    return "significant" if psi > SIGNIFICANT else "moderate" if psi > MODERATE else "stable"


def psi(reference: np.ndarray, sample: np.ndarray, bins: int = 10) -> float:
    """PSI of ``sample`` against ``reference`` (1-D, NaNs dropped)."""
    ref = reference[~np.isnan(reference)]
    smp = sample[~np.isnan(sample)]
    if len(ref) == 0 or len(smp) == 0:
        raise ValueError("no values to compare")
    edges = _edges(ref, bins)
    if edges is None:
        values = np.unique(ref)
        r = np.array([(ref == v).sum() for v in values], dtype=float)
        s = np.array([(smp == v).sum() for v in values], dtype=float)
        # sample values the reference never had form one more bin
        r = np.append(r, 0.0)
        s = np.append(s, (~np.isin(smp, values)).sum())
    else:
        r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1).astype(float)
        s = np.bincount(np.searchsorted(edges, smp, side="right"), minlength=len(edges) + 1).astype(float)
    return _shares_psi(r, s)


def _shares_psi(r: np.ndarray, s: np.ndarray) -> float:
    r = np.maximum(r / r.sum(), EPS)
    s = np.maximum(s / s.sum(), EPS)
    return float(np.sum((s - r) * np.log(s / r)))


def category_psi(reference: pd.Series, sample: pd.Series) -> tuple[float, float, list[dict[str, Any]]]:
    """(PSI over category shares, share of sample values unseen in the reference, the largest shares)."""
    ref = reference.dropna().astype(str)
    smp = sample.dropna().astype(str)
    if len(ref) == 0 or len(smp) == 0:
        raise ValueError("no values to compare")
    ref_counts = ref.value_counts()
    cats = sorted(ref_counts.index)
    seen = smp.isin(cats)
    smp_counts = smp[seen].value_counts()
    r = np.array([ref_counts.get(c, 0) for c in cats] + [0], dtype=float)
    s = np.array([smp_counts.get(c, 0) for c in cats] + [int((~seen).sum())], dtype=float)
    rs, ss = r / r.sum(), s / s.sum()
    order = sorted(range(len(cats) + 1), key=lambda i: (-max(rs[i], ss[i]), i))
    listed = [
        {"category": (cats + [OTHER])[i], "reference": _r(rs[i]), "sample": _r(ss[i])}
        for i in order[:LISTED_CATEGORIES]
        if rs[i] > 0 or ss[i] > 0
    ]
    return _shares_psi(r, s), float(1 - seen.mean()), listed


def data_checks(
    reference: pd.DataFrame, sample: pd.DataFrame, features: list[str], bins: int = 10
) -> dict[str, Any]:
    """Compare the sample's feature columns with the reference's; a JSON-able report."""
    missing_cols = [c for c in features if c not in sample.columns]
    extra_cols = sorted(c for c in sample.columns if c not in reference.columns)
    rows: list[dict[str, Any]] = []
    for col in features:
        if col not in sample.columns or col not in reference.columns:
            continue
        ref_s, smp_s = reference[col], sample[col]
        ref_kind, smp_kind = _kind(ref_s), _kind(smp_s)
        # integer vs float is not a problem for a float model input; numeric vs non-numeric is
        dtype_ok = (ref_kind == "non-numeric") == (smp_kind == "non-numeric")
        ref, smp = _numeric(ref_s), _numeric(smp_s)
        missing_rate = float(smp_s.isna().mean())
        row: dict[str, Any] = {
            "feature": col,
            "dtype_reference": ref_kind,
            "dtype_sample": smp_kind,
            "dtype_ok": dtype_ok,
            "missing_rate": _r(missing_rate),
            "reference_range": [_r(np.nanmin(ref)), _r(np.nanmax(ref))] if np.isfinite(ref).any() else None,
            "sample_range": [_r(np.nanmin(smp)), _r(np.nanmax(smp))] if np.isfinite(smp).any() else None,
            "out_of_range": None,
            "psi": None,
            "psi_level": None,
            "reason": None,
            "measure": "category_psi" if ref_kind == "non-numeric" else "quantile_psi",
        }
        if dtype_ok and ref_kind == "non-numeric":
            try:
                value, unseen, listed = category_psi(ref_s, smp_s)
            except ValueError as exc:
                row["reason"] = str(exc)
            else:
                row.update(out_of_range=_r(unseen), psi=_r(value), psi_level=psi_level(value), categories=listed)
        elif not dtype_ok:
            row["reason"] = f"dtype {smp_kind} in the sample, {ref_kind} in the reference"
        elif not np.isfinite(smp).any() or not np.isfinite(ref).any():
            row["reason"] = "no values to compare"
        else:
            lo, hi = np.nanmin(ref), np.nanmax(ref)
            present = smp[~np.isnan(smp)]
            row["out_of_range"] = _r(float(((present < lo) | (present > hi)).mean()))
            value = psi(ref, smp, bins)
            row["psi"], row["psi_level"] = _r(value), psi_level(value)
        rows.append(row)
    psis = [r["psi"] for r in rows if r["psi"] is not None]
    oor = [r["out_of_range"] for r in rows if r["out_of_range"] is not None]
    summary = {
        "drift.psi.max": max(psis) if psis and len(psis) == len(rows) else None,
        "data.missing_rate.max": max((r["missing_rate"] for r in rows), default=None),
        "data.out_of_range.max": max(oor) if oor else None,
    }
    reasons = {}
    if missing_cols:
        why = f"the sample lacks feature column(s) {', '.join(missing_cols)}"
        summary = dict.fromkeys(summary)
        reasons = dict.fromkeys(summary, why)
    elif summary["drift.psi.max"] is None:
        bad = [r["feature"] for r in rows if r["psi"] is None]
        reasons["drift.psi.max"] = f"PSI undefined for {', '.join(bad)} (see the data checks)"
    return {
        "rows_reference": len(reference),
        "rows_sample": len(sample),
        "missing_columns": missing_cols,
        "extra_columns": extra_cols,
        "features": rows,
        "summary": summary,
        "undefined": reasons,
    }
