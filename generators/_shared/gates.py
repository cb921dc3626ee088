"""Gates: ``"f1 >= 0.95"`` strings parsed at spec time, checked against measured values at build time.

A gate names a metric from a fixed catalogue. The catalogue depends on where the gate lives:

- ``readiness.gates`` (the evaluation data): ``<metric>``, ``cv.<metric>.mean``, ``cv.<metric>.std``,
  ``parity.agreement``, ``parity.max_abs_diff``;
- ``readiness.sample.gates`` (the real-world sample): ``<metric>``, ``drift.psi.max``,
  ``data.missing_rate.max``, ``data.out_of_range.max``.

``<metric>`` is a classification or a regression metric (see :mod:`.metrics`). A gate whose metric is
undefined or was not measured fails, and says why: a gate never passes on a number that does not exist.

A ``readiness.gates`` entry may compare with the champion (``readiness.compare_to``) instead of a number:
``f1 >= champion.f1 - 0.005`` — the champion's model metric measured on the same evaluation data, plus or minus
an offset. Its bound is known only once the champion is scored, at build time.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

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

_GATE = re.compile(r"^\s*(?P<metric>[A-Za-z_][\w.]*)\s*(?P<op>[<>=!]+)\s*(?P<value>\S.*?)\s*$")
_CHAMPION = re.compile(r"^champion\.(?P<metric>[A-Za-z_][\w.]*)\s*(?:(?P<sign>[+-])\s*(?P<offset>\S+))?$")
CHAMPION_PREFIX = "champion."


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
    threshold: float  # the bound; for a champion gate, the offset added to the champion's value
    champion: str | None = None  # champion gate: the champion's metric the bound is relative to

    def bound(self, champion_value: float | None = None) -> float:
        return self.threshold if self.champion is None else float(champion_value) + self.threshold  # type: ignore[arg-type]

    def check(self, value: float, champion_value: float | None = None) -> bool:
        return OPERATORS[self.op](value, self.bound(champion_value))

    def describe_bound(self) -> str:
        """``0.95``, or ``champion.f1 - 0.005`` for a champion gate."""
        if self.champion is None:
            return f"{self.threshold:g}"
        if not self.threshold:
            return f"{CHAMPION_PREFIX}{self.champion}"
        return f"{CHAMPION_PREFIX}{self.champion} {'-' if self.threshold < 0 else '+'} {abs(self.threshold):g}"


def _number(text: str, raw: str, what: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{text!r}: {what} {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r}: {what} must be a finite number")
    return value


def _champion_bound(text: str, raw: str) -> tuple[str, float]:
    """(champion metric, signed offset) of a bound written ``champion.<metric> [+|- <number>]``."""
    m = _CHAMPION.match(raw)
    if not m:
        raise ValueError(
            f"{text!r}: the bound {raw!r} is neither a number nor 'champion.<metric> [+|- <number>]', "
            "e.g. 'f1 >= champion.f1 - 0.005'"
        )
    metric = m.group("metric")
    if metric not in model_metrics("auto"):
        raise ValueError(
            f"{text!r}: the champion is scored on the evaluation data only: champion.{metric} is not one of "
            f"{', '.join(model_metrics('auto'))}"
        )
    offset = _number(text, m.group("offset"), "offset") if m.group("offset") else 0.0
    return metric, -offset if m.group("sign") == "-" else offset


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
    champion = None
    if raw.startswith(CHAMPION_PREFIX):
        champion, threshold = _champion_bound(text, raw)
    else:
        threshold = _number(text, raw, "threshold")
    if metric not in catalogue:
        raise ValueError(f"{text!r}: {metric_problem(metric, catalogue)}")
    gate = Gate(text=text.strip(), metric=metric, op=op, threshold=threshold, champion=champion)
    if champion is None:
        why = _range_problem(gate)
        if why:
            raise ValueError(f"{text!r}: {why}")
    return gate


def metric_range(metric: str) -> tuple[float, float]:
    """Where a catalogue metric's values lie (scores and rates 0..1, errors and PSI from 0, r2 up to 1)."""
    if metric.startswith("cv.") and metric.endswith(".std"):
        return 0.0, math.inf
    base = _base(metric)
    if base in CLASSIFICATION_METRICS or base in ("parity.agreement", "data.missing_rate.max",
                                                   "data.out_of_range.max"):
        return 0.0, 1.0
    if base == "r2":
        return -math.inf, 1.0
    return 0.0, math.inf  # mae, rmse, parity.max_abs_diff, drift.psi.max


def _range_problem(gate: Gate) -> str | None:
    """Why a gate's threshold makes no sense for its metric's range: it can never pass, or it lies outside the
    range and always passes (it checks nothing); None when it is sensible."""
    lo, hi = metric_range(gate.metric)
    shown = f"{lo:g}..{hi:g}" if math.isfinite(lo) and math.isfinite(hi) else \
        f">= {lo:g}" if math.isfinite(lo) else f"<= {hi:g}"
    ends = [v if math.isfinite(v) else math.copysign(1e308, v) for v in (lo, hi)]
    if not any(gate.check(v) for v in ends) and not (lo < gate.threshold < hi and gate.op == "=="):
        return f"{gate.metric} is never {gate.op} {gate.threshold:g} (its values are {shown}): the gate could never pass"
    if not lo <= gate.threshold <= hi:
        return (f"{gate.threshold:g} is outside {gate.metric}'s values ({shown}): the gate always passes and checks "
                "nothing")
    return None


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


def _short(x: float | None) -> float | None:
    return None if x is None else float(f"{x:.6g}")


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    value: float | None
    passed: bool
    reason: str | None  # why there is no value (undefined metric, not measured)
    champion: float | None = None  # champion gate: the champion's value of gate.champion

    @property
    def bound(self) -> float | None:
        """The number the value was compared with (None: a champion gate without a champion value)."""
        if self.gate.champion is None:
            return self.gate.threshold
        return None if self.champion is None else self.gate.bound(self.champion)

    def bound_text(self) -> str:
        """``0.95``; ``0.9312 (champion.f1 - 0.005)`` for a champion gate (just the formula without a champion)."""
        formula = self.gate.describe_bound()
        if self.gate.champion is None or self.bound is None:
            return formula
        return f"{self.bound:.4f} ({formula})"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "gate": self.gate.text,
            "metric": self.gate.metric,
            "op": self.gate.op,
            "threshold": _short(self.bound),
            "value": _short(self.value),
            "passed": self.passed,
            "reason": self.reason,
        }
        if self.gate.champion is not None:
            out["champion"] = {"metric": self.gate.champion, "value": _short(self.champion),
                               "offset": self.gate.threshold}
        return out

    @classmethod
    def from_json(cls, g: Mapping[str, Any]) -> GateResult:
        champ = g.get("champion")
        gate = Gate(g["gate"], g["metric"], g["op"], champ["offset"] if champ else g["threshold"],
                    champ["metric"] if champ else None)
        return cls(gate, g["value"], g["passed"], g["reason"], champ["value"] if champ else None)


def _finite(x: float | None) -> TypeGuard[float]:
    return x is not None and math.isfinite(x)


def check_gates(
    gates: list[Gate],
    values: Mapping[str, float | None],
    reasons: Mapping[str, str],
    champion: Mapping[str, float | None] | None = None,
    champion_reasons: Mapping[str, str] | None = None,
) -> list[GateResult]:
    """Check every gate. ``values`` maps metric -> number (None: undefined, with a reason in ``reasons``);
    ``champion`` the champion's metrics on the same data, for champion gates (None: no champion was scored,
    and ``champion_reasons[""]`` may say why)."""
    results = []
    champion_reasons = champion_reasons or {}
    for gate in gates:
        value = values.get(gate.metric)
        if not _finite(value):
            why = reasons.get(gate.metric) or f"{gate.metric} was not measured"
            results.append(GateResult(gate, None, False, why))
            continue
        if gate.champion is None:
            results.append(GateResult(gate, float(value), gate.check(float(value)), None))
            continue
        theirs = (champion or {}).get(gate.champion)
        if not _finite(theirs):
            why = champion_reasons.get("") or f"the champion's {gate.champion} was not measured"
            if champion_reasons.get(gate.champion):
                why = f"the champion's {gate.champion}: {champion_reasons[gate.champion]}"
            results.append(GateResult(gate, float(value), False, why))
            continue
        results.append(GateResult(gate, float(value), gate.check(float(value), theirs), None, float(theirs)))
    return results


def gate_table(results: list[GateResult], title: str = "") -> str:
    """A plain-text table of every gate: metric, value, threshold, pass/fail."""
    champions = any(r.gate.champion for r in results)
    rows = [("metric", "value", *(("champion",) if champions else ()), "threshold", "result")]
    for r in results:
        value = "undefined" if r.value is None else f"{r.value:.4f}"
        theirs = ("" if r.gate.champion is None else "undefined" if r.champion is None else f"{r.champion:.4f}",)
        rows.append((r.gate.metric, value, *(theirs if champions else ()), f"{r.gate.op} {r.bound_text()}",
                     "pass" if r.passed else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [title] if title else []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for r in results:
        if r.reason:
            lines.append(f"  {r.gate.metric}: {r.reason}")
    return "\n".join(lines)
