"""Inline SVG charts for the HTML report: plain strings, deterministic, no scripts, no external assets.

Every function takes report data (the JSON report's pieces) and returns an ``<svg>`` element.
"""

from __future__ import annotations

from html import escape
from typing import Any

PASS, FAIL, INK, GRID, MUTED = "#2e7d32", "#c62828", "#1f2937", "#e5e7eb", "#6b7280"
SERIES = (
    "#1565c0",
    "#ef6c00",
    "#6a1b9a",
    "#00838f",
    "#ad1457",
    "#558b2f",
    "#4e342e",
    "#283593",
    "#f9a825",
    "#37474f",
)
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _n(x: float) -> str:
    """Coordinates with two decimals, so output is stable and small."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _short(label: str, limit: int = 28) -> str:
    """A label cut to ``limit`` characters with an ellipsis, so it cannot run into its neighbours."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{escape(title)}" {FONT}>'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, s: str, anchor: str = "start", fill: str = INK, extra: str = "") -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{fill}"{extra}>{escape(s)}</text>'


def gate_window(value: float | None, thr: float) -> tuple[float, float]:
    """The axis of a gate's row, zoomed around its threshold: the gap between value and threshold takes a
    visible share of the track (a 0.978 against 0.99 stops well short of the tick), the threshold sits near
    the middle; scores stay within [0, 1] and non-negative metrics start at 0 at most."""
    gap = abs(value - thr) if value is not None else 0.0
    half = max(2.0 * gap, 0.02 * abs(thr), 1e-6)
    lo, hi = thr - half, thr + half
    if thr >= 0 and (value is None or value >= 0):
        lo = max(lo, 0.0)
    if 0.5 <= thr <= 1 and (value is None or 0 <= value <= 1):
        hi = min(hi, 1.0)
    return lo, hi


def gates_chart(gates: list[dict[str, Any]]) -> str:
    """One bullet row per gate: the value as a bar, the threshold as a tick, each row on its own axis zoomed
    around the threshold (:func:`gate_window`), whose ends are written under it."""
    label_w, track_w, row_h, value_w = 210, 360, 40, 170
    body: list[str] = []
    for i, g in enumerate(gates):
        y = i * row_h + 8
        body.append(_text(0, y + 15, g["metric"]))
        value, thr = g["value"], g["threshold"]
        lo, hi = gate_window(value, thr)

        def x(v: float, lo: float = lo, hi: float = hi) -> float:
            return label_w + max(0.0, min(1.0, (v - lo) / (hi - lo))) * track_w

        body.append(f'<rect x="{label_w}" y="{_n(y + 4)}" width="{track_w}" height="14" fill="{GRID}"/>')
        colour = PASS if g["passed"] else FAIL
        if value is not None:
            body.append(
                f'<rect x="{label_w}" y="{_n(y + 4)}" width="{_n(x(value) - label_w)}" height="14" fill="{colour}"/>'
            )
            shown = _fmt(value)
        else:
            shown = "undefined"
        tx = x(thr)
        body.append(
            f'<line x1="{_n(tx)}" y1="{_n(y)}" x2="{_n(tx)}" y2="{_n(y + 22)}" stroke="{INK}" stroke-width="2"/>'
        )
        small = ' font-size="10"'
        body.append(_text(label_w, y + 32, _fmt(lo), fill=MUTED, extra=small))
        body.append(_text(label_w + track_w, y + 32, _fmt(hi), anchor="end", fill=MUTED, extra=small))
        verdict = "pass" if g["passed"] else "FAIL"
        body.append(
            _text(label_w + track_w + 10, y + 15, f"{shown} {g['op']} {_fmt(thr)}: {verdict}", fill=colour)
        )
    height = max(1, len(gates)) * row_h + 8
    return _svg(label_w + track_w + value_w + 40, height, body, "metrics against gates")


def cv_chart(per_fold: list[dict[str, float | None]], metrics: list[str]) -> str:
    """Fold values as dots per metric, with the mean as a bar and ±1 std as a band; each row zoomed to its data."""
    label_w, track_w, row_h = 120, 420, 34
    body: list[str] = []
    rows = [m for m in metrics if all(f.get(m) is not None for f in per_fold)]
    for i, metric in enumerate(rows):
        vals = [float(v) for f in per_fold if (v := f.get(metric)) is not None]  # all are, see rows
        y = i * row_h + 10
        mean = sum(vals) / len(vals)
        std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5
        lo, hi = min(vals + [mean - std]), max(vals + [mean + std])
        pad = (hi - lo) * 0.15 or max(abs(hi) * 0.01, 1e-3)
        lo, hi = lo - pad, hi + pad
        if metric not in ("mae", "rmse", "r2"):  # scores live in [0, 1]: keep the axis there
            lo, hi = max(lo, 0.0), min(hi, 1.0)

        def x(v: float, lo: float = lo, hi: float = hi) -> float:
            return label_w + (v - lo) / (hi - lo) * track_w

        body.append(_text(0, y + 14, metric))
        body.append(
            f'<line x1="{label_w}" y1="{_n(y + 10)}" x2="{label_w + track_w}" y2="{_n(y + 10)}" stroke="{GRID}" stroke-width="14"/>'
        )
        body.append(
            f'<rect x="{_n(x(mean - std))}" y="{_n(y + 3)}" width="{_n(x(mean + std) - x(mean - std))}" height="14" '
            f'fill="{SERIES[0]}" fill-opacity="0.2"/>'
        )
        body.append(
            f'<line x1="{_n(x(mean))}" y1="{_n(y)}" x2="{_n(x(mean))}" y2="{_n(y + 20)}" stroke="{SERIES[0]}" stroke-width="2"/>'
        )
        for v in vals:
            body.append(
                f'<circle cx="{_n(x(v))}" cy="{_n(y + 10)}" r="4" fill="{SERIES[1]}" fill-opacity="0.85"/>'
            )
        body.append(_text(label_w - 6, y + 30, _fmt(lo), fill=MUTED, extra=' font-size="10"'))
        body.append(
            _text(label_w + track_w, y + 30, _fmt(hi), anchor="end", fill=MUTED, extra=' font-size="10"')
        )
        body.append(_text(label_w + track_w + 12, y + 14, f"mean {_fmt(mean)} ± {_fmt(std)}"))
    return _svg(label_w + track_w + 190, max(1, len(rows)) * row_h + 16, body, "cross-validation fold spread")


def roc_chart(curves: list[dict[str, Any]], names: dict[str, str] | None = None) -> str:
    """ROC curves (one per class for one-vs-rest) on the unit square, with the chance diagonal; ``names``
    maps a class label to its display name (the signature's class_names)."""
    names = names or {}
    size, m = 300, 40
    body = [f'<rect x="{m}" y="10" width="{size}" height="{size}" fill="none" stroke="{MUTED}"/>']
    for t in (0.25, 0.5, 0.75):
        gx, gy = m + t * size, 10 + size - t * size
        body.append(f'<line x1="{_n(gx)}" y1="10" x2="{_n(gx)}" y2="{10 + size}" stroke="{GRID}"/>')
        body.append(f'<line x1="{m}" y1="{_n(gy)}" x2="{m + size}" y2="{_n(gy)}" stroke="{GRID}"/>')
    body.append(
        f'<line x1="{m}" y1="{10 + size}" x2="{m + size}" y2="10" stroke="{MUTED}" stroke-dasharray="4 4"/>'
    )
    for i, c in enumerate(curves):
        pts = " ".join(
            f"{_n(m + f * size)},{_n(10 + size - t * size)}" for f, t in zip(c["fpr"], c["tpr"], strict=True)
        )
        colour = SERIES[i % len(SERIES)]
        body.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        label = names.get(str(c["class"]), str(c["class"]))
        body.append(_text(m + size + 14, 24 + i * 18, f"{_short(label)}: AUC {c['auc']:.4f}", fill=colour))
    body.append(_text(m + size / 2, size + 42, "false positive rate", anchor="middle", fill=MUTED))
    body.append(
        f'<text x="12" y="{_n(10 + size / 2)}" text-anchor="middle" fill="{MUTED}" '
        f'transform="rotate(-90 12 {_n(10 + size / 2)})">true positive rate</text>'
    )
    for t in (0, 0.5, 1):
        body.append(
            _text(m + t * size, size + 24, f"{t:g}", anchor="middle", fill=MUTED, extra=' font-size="10"')
        )
        body.append(
            _text(m - 4, 14 + size - t * size, f"{t:g}", anchor="end", fill=MUTED, extra=' font-size="10"')
        )
    return _svg(m + size + 200, size + 52, body, "ROC curve")


def confusion_chart(confusion: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """Cells shaded by the share of their true class (row), with the counts written in; classes shown by
    their display names (``names``: label -> name)."""
    names = names or {}
    labels = [_short(names.get(str(lab), str(lab)), 14) for lab in confusion["labels"]]
    matrix = confusion["matrix"]
    k = len(labels)
    cell = max(28, min(64, 420 // max(k, 1)))
    m = 30 + 7 * max([len(lab) for lab in labels] + [6])  # room for the longest row label
    body = []
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        body.append(_text(m - 8, m + i * cell + cell / 2 + 4, str(labels[i]), anchor="end"))
        for j, count in enumerate(row):
            share = count / total
            colour = PASS if i == j else FAIL
            x, y = m + j * cell, m + i * cell
            body.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{cell}" height="{cell}" fill="{colour}" '
                f'fill-opacity="{share * 0.85 + 0.04:.3f}" stroke="#fff"/>'
            )
            fill = "#fff" if share > 0.5 else INK
            body.append(_text(x + cell / 2, y + cell / 2 + 4, str(count), anchor="middle", fill=fill))
    rotate = any(len(lab) * 7 > cell for lab in labels)
    for j, lab in enumerate(labels):
        cx = m + j * cell + cell / 2
        turn = f' transform="rotate(-40 {_n(cx)} {_n(m - 8)})"' if rotate else ""
        body.append(_text(cx, m - 8, lab, anchor="start" if rotate else "middle", extra=turn))
    body.append(_text(m + k * cell / 2, 16, "predicted", anchor="middle", fill=MUTED))
    body.append(
        f'<text x="14" y="{_n(m + k * cell / 2)}" text-anchor="middle" fill="{MUTED}" '
        f'transform="rotate(-90 14 {_n(m + k * cell / 2)})">true class</text>'
    )
    side = m + k * cell + 10
    return _svg(side + (80 if rotate else 0), side, body, "confusion matrix")


def _ticks(lo: float, hi: float) -> list[float]:
    return [lo + (hi - lo) * t for t in (0, 0.5, 1)]


def _scatter(xs: list[float], ys: list[float], xlab: str, ylab: str, title: str, diagonal: bool) -> str:
    """Points on a square plot, with y = x (``diagonal``) or y = 0 as the reference line."""
    size, m = 300, 50
    lo_x, hi_x = min(xs + ys) if diagonal else min(xs), max(xs + ys) if diagonal else max(xs)
    lo_y, hi_y = (lo_x, hi_x) if diagonal else (min(ys + [0.0]), max(ys + [0.0]))
    if not diagonal:  # residuals: symmetric around zero
        lo_y, hi_y = -max(abs(lo_y), abs(hi_y)), max(abs(lo_y), abs(hi_y))
    pad_x, pad_y = (hi_x - lo_x) * 0.05 or 1.0, (hi_y - lo_y) * 0.05 or 1.0
    lo_x, hi_x, lo_y, hi_y = lo_x - pad_x, hi_x + pad_x, lo_y - pad_y, hi_y + pad_y

    def px(v: float) -> float:
        return m + (v - lo_x) / (hi_x - lo_x) * size

    def py(v: float) -> float:
        return 10 + size - (v - lo_y) / (hi_y - lo_y) * size

    body = [f'<rect x="{m}" y="10" width="{size}" height="{size}" fill="none" stroke="{MUTED}"/>']
    if diagonal:
        a, b = max(lo_x, lo_y), min(hi_x, hi_y)
        ref = (px(a), py(a), px(b), py(b))
    else:
        ref = (m, py(0.0), m + size, py(0.0))
    body.append(
        f'<line x1="{_n(ref[0])}" y1="{_n(ref[1])}" x2="{_n(ref[2])}" y2="{_n(ref[3])}" stroke="{MUTED}" '
        'stroke-dasharray="4 4"/>'
    )
    body += [
        f'<circle cx="{_n(px(x))}" cy="{_n(py(y))}" r="2.5" fill="{SERIES[0]}" fill-opacity="0.55"/>'
        for x, y in zip(xs, ys, strict=True)
    ]
    small = ' font-size="10"'
    for t in _ticks(lo_x, hi_x):
        body.append(_text(px(t), size + 24, _fmt(t), anchor="middle", fill=MUTED, extra=small))
    for t in _ticks(lo_y, hi_y):
        body.append(_text(m - 4, py(t) + 4, _fmt(t), anchor="end", fill=MUTED, extra=small))
    body.append(_text(m + size / 2, size + 42, xlab, anchor="middle", fill=MUTED))
    body.append(
        f'<text x="12" y="{_n(10 + size / 2)}" text-anchor="middle" fill="{MUTED}" '
        f'transform="rotate(-90 12 {_n(10 + size / 2)})">{escape(ylab)}</text>'
    )
    return _svg(m + size + 20, size + 52, body, title)


def predicted_actual_chart(points: dict[str, Any]) -> str:
    """Predicted against actual values, with the line of perfect predictions."""
    return _scatter(points["actual"], points["predicted"], "actual", "predicted", "predicted against actual", True)


def residual_chart(points: dict[str, Any]) -> str:
    """Residuals (actual - predicted) against the prediction, with the zero line."""
    residuals = [a - p for a, p in zip(points["actual"], points["predicted"], strict=True)]
    return _scatter(points["predicted"], residuals, "predicted", "residual (actual - predicted)", "residuals", False)


def drift_chart(features: list[dict[str, Any]], moderate: float = 0.1, significant: float = 0.25) -> str:
    """PSI per feature, largest first, with the moderate and significant lines."""
    rows = sorted((f for f in features if f["psi"] is not None), key=lambda f: (-f["psi"], f["feature"]))
    label_w, track_w, row_h = 170, 400, 18
    top = max([significant * 1.2] + [f["psi"] * 1.05 for f in rows])
    body = []
    for i, f in enumerate(rows):
        y = 24 + i * row_h
        colour = FAIL if f["psi"] > significant else "#ef6c00" if f["psi"] > moderate else PASS
        body.append(_text(label_w - 8, y + 11, f["feature"], anchor="end"))
        body.append(
            f'<rect x="{label_w}" y="{_n(y + 2)}" width="{_n(f["psi"] / top * track_w)}" height="12" fill="{colour}"/>'
        )
        body.append(
            _text(
                label_w + f["psi"] / top * track_w + 6,
                y + 11,
                f"{f['psi']:.3f}",
                fill=MUTED,
                extra=' font-size="10"',
            )
        )
    bottom = 24 + len(rows) * row_h
    marks = (
        (moderate, f"moderate {moderate:g} ", "end"),
        (significant, f" significant {significant:g}", "start"),
    )
    for thr, name, anchor in marks:
        x = label_w + thr / top * track_w
        body.append(
            f'<line x1="{_n(x)}" y1="4" x2="{_n(x)}" y2="{_n(bottom)}" stroke="{MUTED}" stroke-dasharray="3 3"/>'
        )
        body.append(_text(x, 14, name, anchor=anchor, fill=MUTED, extra=' font-size="10"'))
    return _svg(label_w + track_w + 60, bottom + 8, body, "drift per feature (PSI)")


def series_chart(labels: list[str], values: list[float | None], title: str, threshold: float | None = None,
                 unit: bool = False) -> str:
    """One metric over consecutive periods (``mlready monitor``'s windows): points joined by a line, a gap where
    a value is undefined, the gate's threshold as a dashed line; x labels are the periods, thinned to fit.
    ``unit``: a score, kept within [0, 1]."""
    label_w, track_w, height, top = 70, 520, 160, 24
    known = [v for v in values if v is not None] + ([threshold] if threshold is not None else [])
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.05, 1e-3)
    lo, hi = lo - pad, hi + pad
    if known and min(known) >= 0:  # PSI, MAE, RMSE, shares: no negative axis
        lo = max(lo, 0.0)
    if unit:
        hi = min(hi, 1.0)
    step = track_w / max(1, len(values) - 1)

    def px(i: int) -> float:
        return label_w + (i * step if len(values) > 1 else track_w / 2)

    def py(v: float) -> float:
        return top + height - (v - lo) / (hi - lo) * height

    body = [_text(label_w, 14, title),
            f'<rect x="{label_w}" y="{top}" width="{track_w}" height="{height}" fill="none" stroke="{GRID}"/>']
    if threshold is not None:
        y = py(threshold)
        body.append(f'<line x1="{label_w}" y1="{_n(y)}" x2="{label_w + track_w}" y2="{_n(y)}" stroke="{FAIL}" '
                    'stroke-dasharray="4 4"/>')
        body.append(_text(label_w + track_w + 4, y + 4, f"gate {_fmt(threshold)}", fill=FAIL, extra=' font-size="10"'))
    run: list[str] = []
    for i, v in enumerate([*values, None]):
        if v is None:
            if len(run) > 1:
                body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{SERIES[0]}" stroke-width="1.5"/>')
            run = []
            continue
        run.append(f"{_n(px(i))},{_n(py(v))}")
        body.append(f'<circle cx="{_n(px(i))}" cy="{_n(py(v))}" r="3" fill="{SERIES[0]}"/>')
    small = ' font-size="10"'
    body.append(_text(label_w - 4, top + 8, _fmt(hi), anchor="end", fill=MUTED, extra=small))
    body.append(_text(label_w - 4, top + height, _fmt(lo), anchor="end", fill=MUTED, extra=small))
    every = max(1, -(-len(labels) * 110 // track_w))  # about 110 px per x label
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(_text(px(i), top + height + 16, _short(label, 18), anchor="middle", fill=MUTED, extra=small))
    return _svg(label_w + track_w + 70, top + height + 26, body, title)
