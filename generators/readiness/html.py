"""The readiness report as one self-contained HTML page (inline CSS and SVG; no scripts, no network)."""

from __future__ import annotations

from html import escape
from typing import Any

from mlready.generators._shared.gates import GateResult
from mlready.generators.readiness import charts

CSS = """
body{font:14px/1.45 system-ui,sans-serif;color:#1f2937;max-width:1100px;margin:24px auto;padding:0 20px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;
padding-bottom:4px}h3{font-size:14px;margin:16px 0 6px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600;font-size:13px}
.passed{background:#2e7d32}.failed{background:#c62828}.nogates{background:#6b7280}
table{border-collapse:collapse;margin:6px 0 10px}td,th{padding:3px 10px;border-bottom:1px solid #e5e7eb;
text-align:left;vertical-align:top}th{background:#f9fafb;font-weight:600}td.num{text-align:right;
font-variant-numeric:tabular-nums}.pass{color:#2e7d32;font-weight:600}.fail{color:#c62828;font-weight:600}
.muted{color:#6b7280}.row{display:flex;gap:32px;flex-wrap:wrap;align-items:flex-start}
.note,.warning,.failures{padding:6px 10px;margin:8px 0;border-left:3px solid}.note{background:#f3f4f6;
border-color:#9ca3af;color:#374151}.warning{background:#fff8e1;border-color:#f9a825}.failures{background:#fdecea;
border-color:#c62828}.note b,.warning b{margin-right:6px}
"""


def _num(v: Any, digits: int = 4) -> str:
    if v is None:
        return "undefined"
    if isinstance(v, float):
        return f"{v:.3e}" if 0 < abs(v) < 10 ** -(digits - 1) else f"{v:.{digits}f}"
    return escape(str(v))


def _table(head: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """A table; a column empty in every row (no reasons to give) is left out."""
    numeric = numeric or set()
    keep = [i for i in range(len(head)) if i == 0 or any(row[i] for row in rows)]
    head = [head[i] for i in keep]
    rows = [[row[i] for i in keep] for row in rows]
    numeric = {keep.index(i) for i in numeric if i in keep}
    out = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        cells = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row)
        )
        out.append(f"<tr>{cells}</tr>")
    return "".join(out) + "</table>"


def _note(text: str) -> str:
    """Information: what was done or not run, and why."""
    return f'<p class="note"><b>Note</b>{escape(text)}</p>'


def _warning(text: str) -> str:
    """Something the reviewer should act on or weigh."""
    return f'<p class="warning"><b>Warning</b>{escape(text)}</p>'


def _class_names(report: dict[str, Any]) -> dict[str, str]:
    """Class label (as the confusion matrix writes it) -> display name, from the signature's class_names."""
    m = report["model"]
    classes, names = m.get("classes") or [], m.get("class_names") or []
    return {str(c): str(n) for c, n in zip(classes, names, strict=False) if str(n) != str(c)}


def _needs(g: dict[str, Any]) -> str:
    """``>= 0.95``; a champion gate's bound with its formula (:meth:`GateResult.bound_text`)."""
    return f"{g['op']} {GateResult.from_json(g).bound_text()}"


def _gates(gates: list[dict[str, Any]], title: str) -> str:
    if not gates:
        return f"<h3>{escape(title)}</h3><p class='muted'>No gates configured.</p>"
    champions = any("champion" in g for g in gates)
    rows = []
    for g in gates:
        verdict = '<span class="pass">pass</span>' if g["passed"] else '<span class="fail">FAIL</span>'
        theirs = [_num(g["champion"]["value"]) if "champion" in g else ""] if champions else []
        rows.append([escape(g["metric"]), _num(g["value"]), *theirs, escape(_needs(g)), verdict,
                     escape(g["reason"] or "")])
    head = ["metric", "value", *(["champion"] if champions else []), "threshold", "result", "reason"]
    table = _table(head, rows, {1, 2} if champions else {1})
    defined = [g for g in gates if g["value"] is not None and g["threshold"] is not None]
    chart = charts.gates_chart(defined) if defined else ""
    return f"<h3>{escape(title)}</h3>{table}{chart}"


def _champion(champ: dict[str, Any], ev: dict[str, Any]) -> str:
    """The champion (``readiness.compare_to``) and this model, metric by metric, on the same evaluation data."""
    html = f"<p>{escape(champ['uri'])} (registry version {escape(str(champ['version']))})"
    if champ.get("skipped"):
        return html + "</p>" + _note(champ["skipped"])
    html += f", scored on {escape(champ['data'])}: {champ['rows']} rows.</p>"
    ours = ev.get("metrics", {})
    rows = []
    for metric in sorted(set(champ["metrics"]) | set(ours)):
        a, b = ours.get(metric), champ["metrics"].get(metric)
        diff = a - b if isinstance(a, float | int) and isinstance(b, float | int) else None
        rows.append([escape(metric), _num(a), _num(b), "" if diff is None else f"{diff:+.4f}"])
    return html + _table(["metric", "this model", "champion", "difference"], rows, {1, 2, 3})


def _metrics(block: dict[str, Any], names: dict[str, str] | None = None) -> str:
    rows = []
    for metric in sorted(block["metrics"]):
        value = block["metrics"][metric]
        reason = block["undefined"].get(metric, "")
        rows.append([escape(metric), _num(value), escape(reason)])
    parts = [_table(["metric", "value", "undefined because"], rows, {1})]
    figures = []
    if block.get("confusion"):
        figures.append(f"<div><h3>Confusion matrix</h3>{charts.confusion_chart(block['confusion'], names)}</div>")
    if block.get("roc"):
        figures.append(f"<div><h3>ROC curve</h3>{charts.roc_chart(block['roc'], names)}</div>")
    if block.get("points") and block["points"]["actual"]:
        pts = block["points"]
        shown = f" ({len(pts['actual'])} of {block['rows']} rows)" if len(pts["actual"]) < block["rows"] else ""
        figures.append(f"<div><h3>Predicted against actual{shown}</h3>{charts.predicted_actual_chart(pts)}</div>")
        figures.append(f"<div><h3>Residuals{shown}</h3>{charts.residual_chart(pts)}</div>")
    if figures:
        parts.append(f'<div class="row">{"".join(figures)}</div>')
    return "".join(parts)


def _cv(cv: dict[str, Any]) -> str:
    if cv.get("skipped"):
        return _note(f"Not run: {cv['skipped']}")
    head = ["metric", "mean", "std"] + [f"fold {i + 1}" for i in range(len(cv["per_fold"]))]
    rows = []
    for metric, stats in sorted(cv["summary"].items()):
        rows.append(
            [escape(metric), _num(stats["mean"]), _num(stats["std"])]
            + [_num(f[metric]) for f in cv["per_fold"]]
        )
    intro = f"<p>{cv['folds']} folds (seed {cv['seed']}) on {escape(cv['data'])}, {cv['rows']} rows.</p>"
    headline = [m for m in ("accuracy", "f1", "auc", "mae", "rmse", "r2") if m in cv["summary"]]
    chart = charts.cv_chart(cv["per_fold"], headline)
    return intro + _table(head, rows, set(range(1, len(head)))) + chart


def _parity(p: dict[str, Any]) -> str:
    if p.get("skipped"):
        return _note(f"Not run: {p['skipped']}")
    rows = [
        [escape(k), _num(v, 6), escape(p["undefined"].get(k, ""))] for k, v in sorted(p["metrics"].items())
    ]
    html = f"<p>Source model against the served ONNX model on {escape(p['data'])} ({p['rows']} rows).</p>"
    html += _table(["metric", "value", "undefined because"], rows, {1})
    if p["disagreements"]:
        drows = [[str(d["row"]), _num(d["source"]), _num(d["onnx"])] for d in p["disagreements"]]
        html += "<h3>Rows that differ (first ten)</h3>" + _table(
            ["data row", "source", "onnx"], drows, {0, 1, 2}
        )
    return html


def _input(inp: dict[str, Any]) -> str:
    if inp.get("per_column"):
        return f"one input per column ({inp['features']} columns)"
    return f"input '{escape(inp['name'])}' [-1, {inp['features'] or '?'}]"


def _checks(checks: dict[str, Any]) -> str:
    html = ""
    if checks["missing_columns"]:
        html += _warning(f"Feature columns missing from the sample: {', '.join(checks['missing_columns'])}")
    if checks["extra_columns"]:
        html += (
            f"<p class='muted'>Extra columns in the sample: {escape(', '.join(checks['extra_columns']))}</p>"
        )
    rows = []
    for f in checks["features"]:
        rng = lambda r: "–" if r is None else f"{r[0]:.4g} … {r[1]:.4g}"  # noqa: E731
        dtype = f"{f['dtype_sample']}" + ("" if f["dtype_ok"] else f" (reference {f['dtype_reference']})")
        cats = f.get("categories")  # category_psi: the largest shares, reference -> sample
        shares = ", ".join(f"{c['category']} {c['reference']:.0%}→{c['sample']:.0%}" for c in cats[:4]) if cats else ""
        rows.append(
            [
                escape(f["feature"]),
                escape(dtype),
                _num(f["missing_rate"]),
                escape(shares) if cats else rng(f["reference_range"]),
                "–" if cats else rng(f["sample_range"]),
                _num(f["out_of_range"]),
                _num(f["psi"]),
                escape(f["psi_level"] or f["reason"] or ""),
            ]
        )
    head = ["feature", "dtype", "missing", "reference range (category shares)", "sample range",
            "out of range (unseen)", "PSI", "drift"]
    html += _table(head, rows, {2, 5, 6})
    if any(f["psi"] is not None for f in checks["features"]):
        html += "<h3>Drift per feature (PSI)</h3>" + charts.drift_chart(checks["features"])
    return html


def _sample(s: dict[str, Any], names: dict[str, str]) -> str:
    if s.get("data") is None:
        return _note(s["skipped"]) + _gates(s["gates"], "Sample gates")
    html = f"<p>{escape(s['data'])}: {s['rows']} rows"
    html += f", compared with {escape(s['reference'])}.</p>" if s.get("reference") else ".</p>"
    if s.get("skipped"):
        html += _note(s["skipped"])
    if s.get("left_out"):
        html += _warning(s["left_out"])
    html += _gates(s["gates"], "Sample gates")
    if s.get("metrics"):
        html += "<h3>Metrics on the sample</h3>" + _metrics(s, names)
    if s.get("checks"):
        html += "<h3>Data checks against the reference</h3>" + _checks(s["checks"])
    return html


def render_html(report: dict[str, Any]) -> str:
    m = report["model"]
    status = report["status"]
    badge = {"passed": "passed", "failed": "failed"}.get(status, "nogates")
    summary = report["summary"]
    names = _class_names(report)
    title = f"Readiness: {m['name']} v{m['version']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="generator" content="mlready">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f'<h1>{escape(title)} <span id="verdict" class="badge {badge}" data-status="{escape(status)}">'
        f"{escape(status.upper())}</span></h1>",
        f"<p class='muted'>{escape(m['task'])} · {escape(m['kind'] or 'model')} · {_input(m['input'])}"
        f" · gates: {summary['passed']} passed, {summary['failed']} failed"
        " · generated by mlready — do not edit</p>",
    ]
    failed = [g for g in report["gates"] + report["sample"]["gates"] if not g["passed"]]
    if failed:
        items = "".join(
            f"<li><b>{escape(g['metric'])}</b> {_num(g['value'])} (needs {escape(_needs(g))})"
            + (f": {escape(g['reason'])}" if g["reason"] else "")
            + "</li>"
            for g in failed
        )
        parts.append(f'<div class="failures" id="failed-gates"><b>Failed gates</b><ul>{items}</ul></div>')
    parts += [_note(n) for n in report["notes"]]
    parts.append("<h2>Gates</h2>" + _gates(report["gates"], "Evaluation gates"))
    ev = report["eval"]
    parts.append("<h2>Evaluation of the served ONNX model</h2>")
    if ev.get("skipped"):
        parts.append(_note(ev["skipped"]))
    else:
        parts.append(f"<p>{escape(ev['data'])}: {ev['rows']} rows.</p>" + _metrics(ev, names))
    if report.get("champion"):
        parts.append("<h2>Champion: side by side on the same data</h2>" + _champion(report["champion"], ev))
    parts.append("<h2>Cross-validation</h2>" + _cv(report["cv"]))
    parts.append("<h2>Parity: source model against ONNX</h2>" + _parity(report["parity"]))
    parts.append("<h2>Real-world sample</h2>" + _sample(report["sample"], names))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
