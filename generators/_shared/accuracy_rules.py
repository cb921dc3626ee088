"""Live accuracy in Prometheus: the readiness gates compiled into alert rules on the feedback counters
(``runtime/feedback.py``: true labels posted later, joined with what the server answered).

Recording rules compute, per model over the window ``w`` (``monitoring.prometheus.accuracy.window``), what the
build's readiness check computes (``_shared/scoring.py``) from the labelled rows of the window::

    per class c   tp = increase(correct{class=c}), pred = Σ increase(confusion{predicted=c}),
                  actual = Σ increase(confusion{actual=c})
                  precision = tp / pred, recall = tp / actual, f1 = 2·tp / (pred + actual)
    accuracy      Σ tp / rows
    precision, recall, f1        of the positive class (classes[1]) for a binary classifier, else the macro average
    *_macro       mean over the classes seen in the window; *_weighted: weighted by each class's true rows
    mae, rmse     Σ increase(|err|) / rows, sqrt(Σ increase(err²) / rows)

A gate ``f1 >= 0.95`` (in ``readiness.gates`` or ``readiness.sample.gates``) becomes the alert
``MlreadyLiveGateFailing{metric="f1"}``: live F1 over the window below 0.95 while at least ``min_rows`` labelled
rows are in the window. Gates on what live feedback cannot measure (auc, r2, cv.*, parity, data), champion
gates (relative to a registry model) and ``==`` gates (a live ratio of extrapolated counters is never exactly a
number) stay build-only. The group is emitted when the server takes feedback
(``serving.feedback.enabled``) and a gate compiles.
"""

from __future__ import annotations

from typing import Any

from mlready.runtime import metrics as m

ALERT = "MlreadyLiveGateFailing"
ROWS = "mlready:feedback_rows"  # labelled rows in the window, per model
PREFIX = "mlready:feedback_"  # + metric: accuracy, f1, mae, ... per model
CLASS_PREFIX = "mlready:feedback_class_"  # + tp, predicted, actual, precision, recall, f1 per (model, class)
PER_CLASS = ("precision", "recall", "f1")
LIVE_METRICS = ("accuracy", *PER_CLASS, *(f"{k}_{a}" for a in ("macro", "weighted") for k in PER_CLASS),
                "mae", "rmse")
FIRES = {">=": "<", ">": "<=", "<=": ">", "<": ">="}  # the gate's comparison -> the alert's


def live_gates(spec: Any) -> list[Any]:
    """The readiness gates a live metric can check (deduplicated, in spec order)."""
    from mlready.generators._shared.gates import eval_catalogue, parse_gate, sample_catalogue

    readiness = spec.section("readiness")
    seen, out = set(), []
    for texts, catalogue in ((readiness.gates, eval_catalogue()), (readiness.sample.gates, sample_catalogue())):
        for text in texts:
            try:
                gate = parse_gate(text, catalogue)
            except ValueError:
                continue  # the readiness section reports it
            key = (gate.metric, gate.op, gate.threshold)
            if gate.metric in LIVE_METRICS and gate.op in FIRES and gate.champion is None and key not in seen:
                seen.add(key)
                out.append(gate)
    return out


def accuracy_active(spec: Any) -> bool:
    serving = spec.optional_section("serving")
    feedback = getattr(serving, "feedback", None)
    return bool(spec.section("monitoring.prometheus").accuracy.enabled and feedback is not None
                and feedback.enabled and live_gates(spec))


def recording_rules(model: str, window: str, metrics: set[str]) -> list[dict[str, Any]]:
    sel = f'{{{m.LABEL_MODEL}="{model}"}}'
    mc = f"{m.LABEL_MODEL}, class"
    on = f"on ({mc})"

    def inc(name: str) -> str:
        return f"increase({name}{sel}[{window}])"

    def by_class(label: str) -> str:  # confusion counts summed per predicted / actual class, as label "class"
        return (f'sum by ({mc}) (label_replace(sum by ({m.LABEL_MODEL}, {label}) '
                f'({inc(m.FEEDBACK_CONFUSION_TOTAL)}), "class", "$1", "{label}", "(.*)"))')

    tp, pred, actual = (f"{CLASS_PREFIX}{x}{sel}" for x in ("tp", "predicted", "actual"))
    rules = [
        {"record": ROWS, "expr": f"sum by ({m.LABEL_MODEL}) ({inc(m.FEEDBACK_ROWS_TOTAL)})"},
    ]
    if metrics & {"mae", "rmse"}:
        rows = f"on ({m.LABEL_MODEL}) ({ROWS}{sel} > 0)"
        rules += [
            {"record": f"{PREFIX}mae",
             "expr": f"sum by ({m.LABEL_MODEL}) ({inc(m.FEEDBACK_ABS_ERROR)}) / {rows}"},
            {"record": f"{PREFIX}rmse",
             "expr": f"sqrt(sum by ({m.LABEL_MODEL}) ({inc(m.FEEDBACK_SQUARED_ERROR)}) / {rows})"},
        ]
    if not metrics - {"mae", "rmse"}:
        return rules
    tp_or0 = f"({tp} or {pred} * 0 or {actual} * 0)"  # a class never right has tp 0
    rules += [
        {"record": f"{CLASS_PREFIX}tp", "expr": f"sum by ({mc}) ({inc(m.FEEDBACK_CORRECT_TOTAL)})"},
        {"record": f"{CLASS_PREFIX}predicted", "expr": by_class("predicted")},
        {"record": f"{CLASS_PREFIX}actual", "expr": by_class("actual")},
        {"record": f"{CLASS_PREFIX}precision", "expr": f"{tp_or0} / {on} ({pred} > 0)"},
        {"record": f"{CLASS_PREFIX}recall", "expr": f"{tp_or0} / {on} ({actual} > 0)"},
        {"record": f"{CLASS_PREFIX}f1",
         "expr": f"2 * {tp_or0} / {on} ((({pred} or {actual} * 0) + {on} ({actual} or {pred} * 0)) > 0)"},
        {"record": f"{PREFIX}accuracy",
         "expr": f"sum by ({m.LABEL_MODEL}) ({tp}) / on ({m.LABEL_MODEL}) ({ROWS}{sel} > 0)"},
    ]
    positive = f"max by ({mc}) ({m.FEEDBACK_POSITIVE_CLASS}{sel})"
    for k in PER_CLASS:
        per = f"{CLASS_PREFIX}{k}{sel}"
        rules += [
            {"record": f"{PREFIX}{k}_macro", "expr": f"avg by ({m.LABEL_MODEL}) ({per})"},
            {"record": f"{PREFIX}{k}_weighted",
             "expr": f"sum by ({m.LABEL_MODEL}) ({per} * {on} {actual}) / on ({m.LABEL_MODEL}) "
                     f"sum by ({m.LABEL_MODEL}) ({actual} and {on} {per})"},
            {"record": f"{PREFIX}{k}",  # binary: the positive class's; else the macro average
             "expr": f"sum by ({m.LABEL_MODEL}) ({per} and {on} {positive}) or "
                     f"({PREFIX}{k}_macro{sel} unless on ({m.LABEL_MODEL}) {positive})"},
        ]
    return rules


def alert_rules(model: str, cfg: Any, gates: list[Any]) -> list[dict[str, Any]]:
    from mlready.generators._shared.alerts import Alert, alert_rule

    a = cfg.accuracy
    sel = f'{{{m.LABEL_MODEL}="{model}"}}'
    return [alert_rule(Alert(
        ALERT, f"{PREFIX}{gate.metric}{sel}",
        f"{FIRES[gate.op]} {gate.threshold:g} and on ({m.LABEL_MODEL}) {ROWS}{sel} >= {a.min_rows}",
        a.alert_for, "critical", f"{model}: live {gate.metric} fails the readiness gate '{gate.text}'",
        f"{gate.metric} of {model} over the labelled rows of the last {a.window} is "
        f"{{{{ $value | printf \"%.4f\" }}}} (the build's gate: {gate.text}). Retrain on recent data.",
        (("metric", gate.metric),)), model, cfg) for gate in gates]


def accuracy_rule_groups(spec: Any) -> list[dict[str, Any]]:
    """The live-accuracy group (recording rules, then one alert per gate), or nothing when inactive."""
    if not accuracy_active(spec):
        return []
    cfg = spec.section("monitoring.prometheus")
    gates = live_gates(spec)
    model = spec.model_name
    return [{
        "name": f"mlready-{spec.project.name}-accuracy",
        "rules": recording_rules(model, cfg.accuracy.window, {g.metric for g in gates})
        + alert_rules(model, cfg, gates),
    }]
