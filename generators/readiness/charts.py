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


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{escape(title)}" {FONT}>'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, s: str, anchor: str = "start", fill: str = INK, extra: str = "") -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{fill}"{extra}>{escape(s)}</text>'


def gates_chart(gates: list[dict[str, Any]]) -> str:
    """One bullet row per gate: the value as a bar, the threshold as a tick, each row on its own scale."""
    label_w, track_w, row_h, value_w = 210, 360, 30, 150
    body: list[str] = []
    for i, g in enumerate(gates):
        y = i * row_h + 8
        body.append(_text(0, y + 15, g["metric"]))
        value, thr = g["value"], g["threshold"]
        # scores near 1 share the unit scale; small numbers (std, differences) and errors are zoomed in
        peak = max(abs(thr), abs(value) if value is not None else 0.0)
        top = 1.0 if 0.5 <= peak <= 1.0 else (peak * 1.25 or 1.0)
        scale = track_w / top
        body.append(f'<rect x="{label_w}" y="{_n(y + 4)}" width="{track_w}" height="14" fill="{GRID}"/>')
        colour = PASS if g["passed"] else FAIL
        if value is not None:
            w = max(0.0, min(track_w, value * scale))
            body.append(f'<rect x="{label_w}" y="{_n(y + 4)}" width="{_n(w)}" height="14" fill="{colour}"/>')
            shown = _fmt(value)
        else:
            shown = "undefined"
        tx = label_w + max(0.0, min(track_w, thr * scale))
        body.append(
            f'<line x1="{_n(tx)}" y1="{_n(y)}" x2="{_n(tx)}" y2="{_n(y + 22)}" stroke="{INK}" stroke-width="2"/>'
        )
        verdict = "pass" if g["passed"] else "FAIL"
        body.append(
            _text(label_w + track_w + 10, y + 15, f"{shown} {g['op']} {_fmt(thr)}: {verdict}", fill=colour)
        )
    height = max(1, len(gates)) * row_h + 12
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


def roc_chart(curves: list[dict[str, Any]]) -> str:
    """ROC curves (one per class for one-vs-rest) on the unit square, with the chance diagonal."""
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
        body.append(_text(m + size + 14, 24 + i * 18, f"class {c['class']}: AUC {c['auc']:.4f}", fill=colour))
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


def confusion_chart(confusion: dict[str, Any]) -> str:
    """Cells shaded by the share of their true class (row), with the counts written in."""
    labels, matrix = confusion["labels"], confusion["matrix"]
    k = len(labels)
    cell = max(28, min(64, 420 // max(k, 1)))
    m = 70
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
    for j, lab in enumerate(labels):
        body.append(_text(m + j * cell + cell / 2, m - 8, str(lab), anchor="middle"))
    body.append(_text(m + k * cell / 2, 16, "predicted", anchor="middle", fill=MUTED))
    body.append(
        f'<text x="14" y="{_n(m + k * cell / 2)}" text-anchor="middle" fill="{MUTED}" '
        f'transform="rotate(-90 14 {_n(m + k * cell / 2)})">true class</text>'
    )
    side = m + k * cell + 10
    return _svg(side, side, body, "confusion matrix")


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
