"""The self-contained HTML page of the optimization report: the winner and why, charts, every candidate."""

from __future__ import annotations

from html import escape
from typing import Any

from mlready.generators.optimize.charts import bar_chart, legend

CSS = """
body{font-family:system-ui,sans-serif;color:#1f2328;max-width:1100px;margin:24px auto;padding:0 16px;line-height:1.45}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.win{background:#dafbe1;border:1px solid #1a7f37;border-radius:6px;padding:10px 14px}
.fallback{background:#fff8c5;border-color:#9a6700}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{border-bottom:1px solid #d0d7de;padding:5px 6px;
text-align:left;vertical-align:top} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.chosen td:first-child{font-weight:700;color:#1a7f37} .rejected,.skipped,.failed{color:#57606a}
.key{margin-right:14px;font-size:12px} .key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.muted{color:#57606a;font-size:13px} .charts svg{display:block;margin:10px 0}
"""


def _num(v: Any, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def _color(c: dict[str, Any]) -> str:
    return "baseline" if c["name"] == "baseline" and c["verdict"] != "chosen" else c["verdict"]


def _charts(report: dict[str, Any]) -> str:
    measured = [c for c in report["candidates"] if "timing" in c]
    base = next(c for c in measured if c["name"] == "baseline")
    budget = report["budget"]["max_accuracy_drop"]
    metric = base["quality"]["metric"]
    parts = [
        bar_chart("Latency at batch 1 (p50)", "ms", [(c["name"], c["timing"]["p50_ms"], _color(c)) for c in measured]),
        bar_chart("Latency at batch 1 (p99)", "ms", [(c["name"], c["timing"]["p99_ms"], _color(c)) for c in measured]),
        bar_chart(f"Throughput at batch {report['measurement']['throughput_batch']}", "rows/s",
                  [(c["name"], c["timing"]["throughput_rps"], _color(c)) for c in measured], lower_is_better=False),
        bar_chart("Model file size", "kB", [(c["name"], c["size_bytes"] / 1024, _color(c)) for c in measured]),
    ]
    if base["quality"]["value"] is not None:
        floor = base["quality"]["value"] - budget
        acc = [(c["name"], c["quality"]["value"] or 0.0, _color(c)) for c in measured]
        parts.append(bar_chart(f"{metric.capitalize() if metric.islower() else metric} on the evaluation data", metric, acc,
                               line=(floor, f"budget floor {floor:.4f}"), lower_is_better=False, zoom=True))
    return "".join(parts)


def _rows(report: dict[str, Any]) -> str:
    rows = []
    for c in report["candidates"]:
        q, t = c.get("quality") or {}, c.get("timing") or {}
        cells = [
            escape(c["name"]), escape(c["verdict"]),
            f'<td class="n">{_num(q.get("value"), ".4f")}</td>', f'<td class="n">{_num(q.get("agreement"), ".2%")}</td>',
            f'<td class="n">{_num(t.get("p50_ms"), ".4f")}</td>', f'<td class="n">{_num(t.get("p99_ms"), ".4f")}</td>',
            f'<td class="n">{_num(t.get("throughput_rps"), ",.0f")}</td>',
            f'<td class="n">{_num(c.get("size_bytes"), ",")}</td>', f'<td class="n">{_num(c.get("peak_rss_mb"), ".1f")}</td>',
            escape(c["why"] or c["detail"]),
        ]
        tds = "".join(x if x.startswith("<td") else f"<td>{x}</td>" for x in cells)
        rows.append(f'<tr class="{escape(c["verdict"])}">{tds}</tr>')
    metric = next((c["quality"]["metric"] for c in report["candidates"] if c.get("quality")), "metric")
    head = (f"<tr><th>candidate</th><th>verdict</th><th>{escape(metric)}</th><th>label agreement</th><th>p50 ms</th>"
            "<th>p99 ms</th><th>rows/s</th><th>bytes</th><th>peak RSS MB</th><th>why</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def render_html(report: dict[str, Any]) -> str:
    m, b = report["measurement"], report["budget"]
    cls = "win fallback" if report["fallback_to_baseline"] else "win"
    data = report["data"]
    setting = (f"Objective <b>{escape(report['objective'])}</b>; budget: at most {b['max_accuracy_drop'] * 100:.2f} "
               f"points below the baseline, labels agreeing on at least {b['min_label_agreement']:.0%} of rows. "
               f"{data['evaluation_rows']} evaluation rows; calibration on {escape(data['calibration'])} "
               f"({data['calibration_rows']} rows). {escape(data['note'])}")
    how = (f"Measured side by side in one process on {escape(m['provider'])} with {m['intra_op_threads']} thread: "
           f"{m['rounds']} interleaved rounds of {m['latency_runs_per_round']} batch-1 calls and "
           f"{m['throughput_runs_per_round']} calls at batch {m['throughput_batch']}; figures are medians over rounds. "
           f"Speed verdicts compare two candidates round by round: a gap counts when the median paired ratio "
           f"passes the noise margin ({m['noise_margin']:.0%}) and most rounds agree; within it the simpler "
           f"candidate wins. Peak RSS is of a fresh "
           f"process loading the model (imports alone: {_num(m['memory_reference_mb'], '.1f')} MB).")
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>mlready: model optimization</title>"
        f"<style>{CSS}</style></head><body>"
        "<!-- generated by mlready — do not edit -->"
        f"<h1>Model optimization</h1><p class=\"muted\">{setting}</p>"
        f"<div id=\"verdict\" class=\"{cls}\" data-status=\"{escape(report['chosen'])}\">"
        f"<b>Served: {escape(report['chosen'])}</b> — {escape(report['reason'])}</div>"
        f"<h2>Candidates</h2>{_rows(report)}"
        f"<h2>Charts</h2><div>{legend()}</div><div class=\"charts\">{_charts(report)}</div>"
        f"<h2>How this was measured</h2><p class=\"muted\">{how}</p>"
        "</body></html>\n"
    )
