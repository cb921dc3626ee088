"""Gates: ``"f1 >= 0.95"`` strings parsed at spec time, checked against measured values at build time.

A gate names a metric from a fixed catalogue. The catalogue depends on where the gate lives:

- ``readiness.gates`` (the evaluation data): ``<metric>``, ``cv.<metric>.mean``, ``cv.<metric>.std``,
  ``parity.agreement``, ``parity.max_abs_diff``;
- ``readiness.sample.gates`` (the real-world sample): ``<metric>``, ``drift.psi.max``,
  ``data.missing_rate.max``, ``data.out_of_range.max``.

``<metric>`` is a classification or a regression metric (see :mod:`.metrics`). A gate whose metric is
undefined or was not measured fails, and says why: a gate never passes on a number that does not exist.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CLASSIFICATION_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "auc",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
)
REGRESSION_METRICS = ("mae", "rmse", "r2")
PARITY_METRICS = ("parity.agreement", "parity.max_abs_diff")
DATA_METRICS = ("drift.psi.max", "data.missing_rate.max", "data.out_of_range.max")

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}

_GATE = re.compile(r"^\s*(?P<metric>[A-Za-z_][\w.]*)\s*(?P<op>[<>=!]+)\s*(?P<value>\S+)\s*$")


def model_metrics(task: str) -> tuple[str, ...]:
    if task == "classification":
        return CLASSIFICATION_METRICS
    if task == "regression":
        return REGRESSION_METRICS
    return CLASSIFICATION_METRICS + REGRESSION_METRICS


def eval_catalogue(task: str = "auto") -> tuple[str, ...]:
    """Every metric a ``readiness.gates`` entry may name, for a task (``auto``: both tasks)."""
    base = model_metrics(task)
    cv = tuple(f"cv.{m}.{stat}" for m in base for stat in ("mean", "std"))
    return base + cv + PARITY_METRICS


def sample_catalogue(task: str = "auto") -> tuple[str, ...]:
    """Every metric a ``readiness.sample.gates`` entry may name."""
    return model_metrics(task) + DATA_METRICS


def describe_catalogue(catalogue: tuple[str, ...]) -> str:
    """A short human listing: the model metrics, then the patterned and fixed names."""
    plain = [m for m in catalogue if "." not in m]
    cv = sorted({m.split(".")[1] for m in catalogue if m.startswith("cv.")})
    other = [m for m in catalogue if "." in m and not m.startswith("cv.")]
    parts = [", ".join(plain)]
    if cv:
        parts.append("cv.<metric>.mean, cv.<metric>.std")
    if other:
        parts.append(", ".join(other))
    return "; ".join(parts)


@dataclass(frozen=True)
class Gate:
    text: str
    metric: str
    op: str
    threshold: float

    def check(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.threshold)


def parse_gate(text: str, catalogue: tuple[str, ...]) -> Gate:
    """Parse one gate; raise ValueError with a message naming what is wrong and what is valid."""
    if not isinstance(text, str):
        raise ValueError(f"a gate is a string like 'f1 >= 0.95', got {text!r}")
    m = _GATE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a gate: write '<metric> <op> <number>', e.g. 'f1 >= 0.95'")
    metric, op, raw = m.group("metric"), m.group("op"), m.group("value")
    if op not in OPERATORS:
        raise ValueError(f"{text!r}: unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
    try:
        threshold = float(raw)
    except ValueError:
        raise ValueError(f"{text!r}: threshold {raw!r} is not a number") from None
    if not math.isfinite(threshold):
        raise ValueError(f"{text!r}: threshold must be a finite number")
    if metric not in catalogue:
        raise ValueError(f"{text!r}: {metric_problem(metric, catalogue)}")
    return Gate(text=text.strip(), metric=metric, op=op, threshold=threshold)


#: names people write for a metric the catalogue spells otherwise (lowercased)
ALIASES = {
    "fscore": "f1", "f_score": "f1", "f1score": "f1", "f1_score": "f1", "fmeasure": "f1", "f_measure": "f1",
    "acc": "accuracy", "roc_auc": "auc", "auroc": "auc", "roc": "auc", "prec": "precision", "rec": "recall",
    "r_squared": "r2", "rsquared": "r2", "r2_score": "r2", "mean_absolute_error": "mae",
    "root_mean_squared_error": "rmse",
}
SAMPLE_ONLY = "measured on the real-world sample (data.sample) only: move this gate to readiness.sample.gates"
EVAL_ONLY = "measured on the evaluation data only: move this gate to readiness.gates"


def suggestion(metric: str, catalogue: tuple[str, ...]) -> str | None:
    """The catalogue's name for what ``metric`` most likely meant (case, aliases, a missing ``.mean``, typos)."""
    low = metric.lower()
    parts = low.split(".")
    if parts[0] == "cv" and len(parts) in (2, 3):  # cv.f1 -> cv.f1.mean, cv.fscore.std -> cv.f1.std
        base = ALIASES.get(parts[1], parts[1])
        candidate = f"cv.{base}.{parts[2] if len(parts) == 3 else 'mean'}"
        if candidate in catalogue:
            return candidate
    for candidate in (low, ALIASES.get(low, "")):
        if candidate in catalogue:
            return candidate
    close = difflib.get_close_matches(low, catalogue, n=1, cutoff=0.75)
    return close[0] if close else None


def metric_problem(metric: str, catalogue: tuple[str, ...]) -> str:
    """Why ``metric`` is not in ``catalogue``: the wrong gate list, the other task, or unknown with a hint."""
    listed = set(catalogue)
    if metric in DATA_METRICS and not listed & set(DATA_METRICS):
        return f"{metric} is {SAMPLE_ONLY}"
    if (metric in PARITY_METRICS or metric in eval_catalogue() and metric.startswith("cv.")) \
            and not listed & set(PARITY_METRICS):
        return f"{metric} is {EVAL_ONLY}"
    task = metric_task(metric)
    tasks = {metric_task(m) for m in catalogue} - {None}
    if task and task not in tasks and len(tasks) == 1:
        (this,) = tasks
        return (f"{_base(metric)} is a {task} metric, but this is a {this} model; valid metrics for {this}: "
                f"{describe_catalogue(catalogue)}")
    hint = suggestion(metric, catalogue)
    return f"unknown metric {metric!r}" + (f" (did you mean {hint!r}?)" if hint else "") + \
        f"; valid metrics: {describe_catalogue(catalogue)}"


def _base(metric: str) -> str:
    return metric.split(".")[1] if metric.startswith("cv.") and metric.count(".") == 2 else metric


def metric_task(metric: str) -> str | None:
    """``classification`` / ``regression`` for a model metric (plain or ``cv.<metric>.<stat>``), else None."""
    base = _base(metric)
    if base in CLASSIFICATION_METRICS:
        return "classification"
    if base in REGRESSION_METRICS:
        return "regression"
    return None


def task_problems(gates: list[str], sample_gates: list[str], task: str) -> list[tuple[str, str]]:
    """(key, ``'text': why``) for each gate whose metric the model's task does not produce; for the moment the
    task becomes known (``model.task: auto`` is decided when the model is loaded)."""
    out = []
    for key, texts, catalogue in (("readiness.gates", gates, eval_catalogue(task)),
                                  ("readiness.sample.gates", sample_gates, sample_catalogue(task))):
        for i, text in enumerate(texts):
            metric = _GATE.match(text)
            name = metric.group("metric") if metric else ""
            if name and name not in catalogue:
                out.append((f"{key}.{i}", f"{text.strip()!r}: {metric_problem(name, catalogue)}"))
    return out


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    value: float | None
    passed: bool
    reason: str | None  # why there is no value (undefined metric, not measured)

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate.text,
            "metric": self.gate.metric,
            "op": self.gate.op,
            "threshold": self.gate.threshold,
            "value": None if self.value is None else float(f"{self.value:.6g}"),
            "passed": self.passed,
            "reason": self.reason,
        }


def check_gates(
    gates: list[Gate], values: Mapping[str, float | None], reasons: Mapping[str, str]
) -> list[GateResult]:
    """Check every gate. ``values`` maps metric -> number (None: undefined, with a reason in ``reasons``)."""
    results = []
    for gate in gates:
        value = values.get(gate.metric)
        if value is None or not math.isfinite(value):
            why = reasons.get(gate.metric) or f"{gate.metric} was not measured"
            results.append(GateResult(gate, None, False, why))
        else:
            results.append(GateResult(gate, float(value), gate.check(float(value)), None))
    return results


def gate_table(results: list[GateResult], title: str = "") -> str:
    """A plain-text table of every gate: metric, value, threshold, pass/fail."""
    rows = [("metric", "value", "threshold", "result")]
    for r in results:
        value = "undefined" if r.value is None else f"{r.value:.4f}"
        rows.append(
            (r.gate.metric, value, f"{r.gate.op} {r.gate.threshold:g}", "pass" if r.passed else "FAIL")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [title] if title else []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for r in results:
        if r.reason:
            lines.append(f"  {r.gate.metric}: {r.reason}")
    return "\n".join(lines)
