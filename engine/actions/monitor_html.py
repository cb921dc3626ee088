"""The HTML page of ``mlready monitor``'s report: the verdict, each gated metric over the windows, the drift per
feature of the window that drifted most, and one table per window. Charts and styles are the readiness
report's (:mod:`mlready.generators.readiness.charts`, its CSS)."""

from __future__ import annotations

from html import escape
from typing import Any


def _short_time(iso: str) -> str:
    return iso[5:16].replace("T", " ")  # 2026-12-06T04:00:00+00:00 -> 12-06 04:00


def _value(v: Any) -> str:
    return "undefined" if v is None else f"{v:.4f}" if isinstance(v, float) else escape(str(v))


def _gate_rows(window: dict[str, Any]) -> str:
    if not window["gated"]:
        return f'<p class="note"><b>Not gated</b>{escape(window["reason"])}</p>'
    rows = "".join(
        f'<tr><td>{escape(g["gate"])}</td><td class="num">{_value(g["value"])}</td>'
        f'<td class="{"pass" if g["passed"] else "fail"}">{"pass" if g["passed"] else "FAIL"}</td>'
        f'<td>{escape(g["reason"] or "")}</td></tr>'
        for g in window["gates"]
    )
    return f"<table><tr><th>gate</th><th>value</th><th>result</th><th>why</th></tr>{rows}</table>"


def render_html(report: dict[str, Any], title: str) -> str:
    from mlready.generators._shared.gates import CLASSIFICATION_METRICS
    from mlready.generators.readiness.charts import drift_chart, series_chart
    from mlready.generators.readiness.html import CSS

    windows = report["windows"]
    labels = [_short_time(w["start"]) for w in windows]
    verdict = ("passed", "production gates pass") if report["passed"] else ("failed", "production gates fail")
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{CSS}</style>"
        f"</head><body><h1>{escape(title)}</h1>",
        f'<p><span class="badge {verdict[0]}">{verdict[1]}</span> <span class="muted">{len(windows)} windows of '
        f'{escape(report["window"])}, at least {report["min_rows"]} labelled rows to gate</span></p>',
    ]
    join = report["join"]
    from_feedback = f' ({join["feedback"]} from feedback records)' if join.get("feedback") else ""
    parts.append(f'<p class="note"><b>Join</b>{join["labels"]} labels{from_feedback}: {join["used"]} joined, '
                 f'{join["not_captured"]} not captured, {join["unusable"]} unusable, '
                 f'{join["duplicate"]} duplicate</p>')
    if report["failing_gates"]:
        parts.append(f'<p class="failures"><b>Failing:</b> {escape(", ".join(report["failing_gates"]))} in '
                     f'{escape(", ".join(_short_time(s) for s in report["failing_windows"]))}</p>')
    parts.append("<h2>Metrics over time</h2><div class='row'>")
    thresholds: dict[str, float] = {}
    for w in windows:
        for g in w["gates"]:
            thresholds.setdefault(g["metric"], g["threshold"])
    metrics = [m for m in thresholds if any(m in w["metrics"] or m in w["drift_summary"] for w in windows)]
    for metric in metrics or [m for m in (windows[0]["metrics"] if windows else {})][:1]:
        values = [w["metrics"].get(metric, w["drift_summary"].get(metric)) for w in windows]
        unit = metric in CLASSIFICATION_METRICS
        parts.append(series_chart(labels, values, f"{metric} per window", thresholds.get(metric), unit=unit))
    parts.append("</div>")
    drifted = [w for w in windows if w["drift_summary"].get("drift.psi.max") is not None]
    if drifted:
        worst = max(drifted, key=lambda w: w["drift_summary"]["drift.psi.max"])
        parts.append(f"<h2>Drift per feature, window {escape(_short_time(worst['start']))} (the most drifted)</h2>")
        parts.append(drift_chart(worst["drift"]))
        if worst.get("drift_note"):
            parts.append(f"<p>{escape(worst['drift_note'])}.</p>")
    parts.append("<h2>Windows</h2>")
    for w in windows:
        state = "not gated" if not w["gated"] else "pass" if w["passed"] else "FAIL"
        parts.append(f"<h3>{escape(w['start'])} – {escape(w['end'])}: {w['rows']} rows, {state}</h3>")
        parts.append(_gate_rows(w))
    parts.append("</body></html>")
    return "".join(parts)
