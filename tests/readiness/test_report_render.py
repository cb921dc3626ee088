"""Reports a reviewer can trust at a glance (issue 17): every report rendered in headless Chromium (no console
message, nothing fetched, the verdict element present, a non-blank screenshot), gate bars zoomed around their
threshold, notes styled apart from warnings, empty columns left out, class names in the charts, regression
charts."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from mlready.engine import api
from mlready.generators.model import ModelGenerator
from mlready.generators.optimize import OptimizeGenerator
from mlready.generators.readiness import charts
from PIL import Image

from tests.support.browser import render

pytestmark = pytest.mark.tools  # headless Chromium

#: every chart's labels as laid out by the browser: a label running out of its chart, or two unrotated labels
#: whose boxes intersect (rotated column labels are only checked to stay inside)
OVERLAPS = """
[...document.querySelectorAll('svg')].flatMap(svg => {
  const name = svg.getAttribute('aria-label'), frame = svg.getBoundingClientRect(), out = [];
  const texts = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect(), t.hasAttribute('transform')]);
  for (const [s, r] of texts) {
    if (r.left < frame.left - 1 || r.right > frame.right + 1 || r.top < frame.top - 1 || r.bottom > frame.bottom + 1)
      out.push(`${name}: '${s}' runs out of its chart`);
  }
  const flat = texts.filter(t => !t[2]);
  for (let i = 0; i < flat.length; i++) for (let j = i + 1; j < flat.length; j++) {
    const [a, ra] = flat[i], [b, rb] = flat[j];
    if (ra.left < rb.right - 1 && rb.left < ra.right - 1 && ra.top < rb.bottom - 1 && rb.top < ra.bottom - 1)
      out.push(`${name}: '${a}' overlaps '${b}'`);
  }
  return out;
})
"""

FACTS = {
    "verdict": "document.querySelector('#verdict')?.dataset.status",
    "svgs": "[...document.querySelectorAll('svg')].map(s => s.getAttribute('aria-label'))",
    "headers": "[...document.querySelectorAll('table')].map(t => [...t.querySelectorAll('th')].map(h => h.textContent))",
    "note": "(e => e && getComputedStyle(e).backgroundColor)(document.querySelector('.note'))",
    "failures": "(e => e && getComputedStyle(e).backgroundColor)(document.querySelector('.failures'))",
    "confusion": "document.querySelector('svg[aria-label=\"confusion matrix\"]')?.textContent",
    "roc": "document.querySelector('svg[aria-label=\"ROC curve\"]')?.textContent",
    "points": "document.querySelectorAll('svg[aria-label=\"predicted against actual\"] circle').length",
    "overflow": "document.documentElement.scrollWidth > document.documentElement.clientWidth",
    "overlaps": OVERLAPS,
}


def rendered(page: Path):
    shot = render(page, FACTS)
    assert shot.problems == [], shot.problems  # no console message, no exception, nothing fetched
    image = Image.open(io.BytesIO(shot.screenshot)).convert("RGB")
    assert image.width >= 1000 and image.height > 600
    assert len(image.getcolors(1 << 20) or []) > 20  # drawn: text, bars and charts, not a blank page
    assert shot.values["overflow"] is False  # nothing runs off the page sideways
    assert shot.values["overlaps"] == []
    return shot.values


def bar_and_tick(svg: str) -> tuple[float, float, float]:
    """(bar end, threshold tick, track width) of a one-gate chart, as fractions of the track."""
    track = re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="14" fill="#e5e7eb"/>', svg)
    x0, width = float(track.group(1)), float(track.group(2))
    bar = re.search(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="14" fill="#c62828"/>', svg)
    tick = re.search(r'<line x1="([\d.]+)"', svg)
    return float(bar.group(1)) / width, (float(tick.group(1)) - x0) / width, width


def test_a_near_miss_does_not_look_almost_full():
    gate = {"metric": "accuracy", "value": 0.978, "threshold": 0.99, "op": ">=", "passed": False, "reason": ""}
    bar, tick, _ = bar_and_tick(charts.gates_chart([gate]))
    assert bar < 0.6  # the old unit scale drew 0.978 of the track
    assert tick - bar > 0.2  # the shortfall is a visible gap before the threshold tick
    assert charts.gate_window(0.978, 0.99) == pytest.approx((0.966, 1.0))
    # the axis ends are written under the track, so the zoom is never hidden
    assert ">0.966</text>" in charts.gates_chart([gate]) and ">1</text>" in charts.gates_chart([gate])


def test_failed_classification_report_renders_with_class_names(cancer_project, h):
    root = cancer_project(
        """
        readiness:
          gates: ["accuracy >= 0.995", "parity.max_abs_diff <= 1e-4"]
          cv: {folds: 0}
        """
    )
    spec = root / "deploy.yaml"
    spec.write_text(spec.read_text().replace("  source: model.joblib\n", "  source: model.joblib\n"
                                             "  class_names: [malignant, benign]\n"))
    h.build_fails(root)
    facts = rendered(root / ".mlready" / "failed-build" / "reports" / "readiness.html")
    assert facts["verdict"] == "failed"
    assert "malignant" in facts["confusion"] and "benign" in facts["confusion"]
    assert "malignant: AUC" in facts["roc"] or "benign: AUC" in facts["roc"]
    assert facts["note"] != facts["failures"]  # a note (the conversion) does not look like the failed gates
    # no column left empty: no gate has a reason to give and every evaluation metric is defined
    assert ["metric", "value", "threshold", "result"] in facts["headers"]
    assert ["metric", "value"] in facts["headers"]
    assert not any("" == th or "reason" in row or "undefined because" in row
                   for row in facts["headers"] for th in row)


def test_regression_report_has_predicted_actual_and_residual_charts(project, diabetes, h):
    root = project({
        "model.joblib": diabetes["joblib"],
        "data/train.csv": h.csv(diabetes["train"]),
        "data/eval.csv": h.csv(diabetes["eval"]),
        "deploy.yaml": h.deploy('readiness:\n  gates: ["r2 >= 0.3"]\n  cv: {folds: 0}\n'),
    })
    h.build(root)
    report = h.report(root)
    assert len(report["eval"]["points"]["actual"]) == report["eval"]["rows"] == len(diabetes["eval"])
    facts = rendered(root / "build" / "reports" / "readiness.html")
    assert facts["verdict"] == "passed"
    assert {"predicted against actual", "residuals"} <= set(facts["svgs"])
    assert facts["points"] == len(diabetes["eval"])


def test_optimization_report_renders_without_overlapping_labels(cancer_project):
    root = cancer_project()
    quick = ["optimize.measure.rounds=3", "optimize.measure.latency_runs=20", "optimize.measure.throughput_runs=3",
             "optimize.measure.throughput_batch=32", "optimize.measure.memory=false"]
    api.build(root, ["optimize=graph", *quick], generators=[ModelGenerator(), OptimizeGenerator()], run_hooks=False)
    report = json.loads((root / "build" / "reports" / "optimization.json").read_text())
    floor = report["candidates"][0]["quality"]["value"] - report["budget"]["max_accuracy_drop"]
    assert all(c["quality"]["value"] > floor for c in report["candidates"] if "quality" in c)  # the floor starts the zoomed axis
    facts = rendered(root / "build" / "reports" / "optimization.html")  # the floor's label met 'axis from' here
    assert facts["verdict"] == report["chosen"]
    assert sum(1 for s in facts["svgs"] if s) == 5


def test_report_with_a_drifted_sample_renders(cancer_project, cancer, h):
    shifted = cancer["eval"].copy()
    shifted["mean_radius"] = shifted["mean_radius"] * 1.5
    shifted.loc[shifted.index[:3], "mean_texture"] = None  # left out of the sample metrics: a warning
    root = cancer_project(
        """
        readiness:
          gates: ["f1 >= 0.9"]
          cv: {folds: 3}
          sample:
            gates: ["accuracy >= 0.5", "drift.psi.max <= 10"]
        """,
        data__sample_csv=h.csv(shifted),
    )
    spec = root / "deploy.yaml"
    spec.write_text(spec.read_text().replace("  eval: data/eval.csv\n", "  eval: data/eval.csv\n  sample: data/sample.csv\n"))
    h.build(root)
    facts = rendered(root / "build" / "reports" / "readiness.html")
    assert facts["verdict"] == "passed"
    assert {"drift per feature (PSI)", "cross-validation fold spread"} <= set(facts["svgs"])
    warning = render(root / "build" / "reports" / "readiness.html",
                     {"text": "document.querySelector('.warning')?.textContent"}).values["text"]
    assert warning.startswith("Warning") and "left out of the metrics" in warning
