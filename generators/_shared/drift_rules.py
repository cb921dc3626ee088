"""Live drift in Prometheus: recording rules that compute PSI per feature and for the predictions from the
server's drift counters (``runtime/drift.py``), and the alerts ``MlreadyFeatureDrift`` / ``MlreadyPredictionShift``
on the **same threshold as the build's drift gate** (``drift.psi.max <= 0.25`` in ``readiness.sample.gates`` is
both a build gate and a live alert; without that gate: 0.25, the readiness report's "significant shift").

PSI over the window ``w`` (``monitoring.prometheus.drift.window``), as the readiness check computes it::

    live share  s_b = increase(rows{bin=b}[w]) / increase(rows[w])     (per model, feature)
    PSI         = Σ_b (max(s_b, ε) - max(r_b, ε)) · ln(max(s_b, ε) / max(r_b, ε)),   ε = 1e-4

with ``r_b`` the reference share the server exports. The alerts need ``min_rows`` rows in the window (PSI of
a handful of rows is noise). The drift group is emitted only when the runtime counts: ``serving.drift`` on and
``data.train`` or ``data.eval`` set (the reference the build bakes).
"""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.psi_bins import EPS, SIGNIFICANT
from mlready.runtime import metrics as m

ROWS = "mlready:drift_rows"  # rows counted per (model, feature) over the window
LIVE_SHARE = "mlready:drift_live_share"  # per (model, feature, bin)
REFERENCE_SHARE = "mlready:drift_reference_share"  # per (model, feature, bin), one value across instances
PSI = "mlready:drift_psi"  # per (model, feature); feature="__prediction__" for the predictions
GATE_METRIC = "drift.psi.max"
FEATURE_ALERT, PREDICTION_ALERT = "MlreadyFeatureDrift", "MlreadyPredictionShift"


def _sample_gates(spec: Any) -> list[str]:
    readiness = spec.optional_section("readiness")  # absent when the readiness generator is not loaded
    return list(readiness.sample.gates) if readiness is not None else []


def drift_threshold(spec: Any) -> tuple[str, float, str]:
    """(comparison that fires, threshold, where it comes from) — from the ``drift.psi.max`` gate when the spec
    has one (a gate ``<= t`` fires above t, ``< t`` at t and above), else ``> 0.25``."""
    from mlready.generators._shared.gates import parse_gate, sample_catalogue

    for text in _sample_gates(spec):
        gate = parse_gate(text, sample_catalogue())
        if gate.metric == GATE_METRIC:
            return (">" if gate.op == "<=" else ">="), gate.threshold, f"the build's gate '{gate.text}'"
    return ">", SIGNIFICANT, "no drift.psi.max gate: PSI's significant-shift level"


def drift_problems(spec: Any) -> list[tuple[str, str]]:
    """(key, message) for drift settings that make no sense as a live alert."""
    from mlready.generators._shared.gates import parse_gate, sample_catalogue

    problems = []
    for i, text in enumerate(_sample_gates(spec)):
        try:
            gate = parse_gate(text, sample_catalogue())
        except ValueError:
            continue  # the readiness section reports it
        if gate.metric != GATE_METRIC:
            continue
        if gate.op not in ("<=", "<"):
            problems.append((f"readiness.sample.gates[{i}]", f"{text!r}: a drift gate bounds PSI from above "
                             f"(drift.psi.max <= t); the live drift alert fires above it"))
        elif gate.threshold <= 0:
            problems.append((f"readiness.sample.gates[{i}]", f"{text!r}: PSI is never below 0 and is above 0 for "
                             "any live sample: the live drift alert would always fire (use e.g. 0.25)"))
    return problems


def drift_active(spec: Any) -> bool:
    cfg = spec.section("monitoring.prometheus")
    serving = spec.optional_section("serving")
    counting = serving is None or getattr(serving, "drift", False)
    return bool(cfg.drift.enabled and counting and (spec.data.train or spec.data.eval))


def recording_rules(model: str, window: str) -> list[dict[str, Any]]:
    sel = f'{{{m.LABEL_MODEL}="{model}"}}'
    by_feature = f"{m.LABEL_MODEL}, {m.LABEL_FEATURE}"
    by_bin = f"{by_feature}, {m.LABEL_BIN}"
    increase = f"increase({m.DRIFT_ROWS_TOTAL}{sel}[{window}])"
    s, r = f"clamp_min({LIVE_SHARE}{sel}, {EPS:g})", f"clamp_min({REFERENCE_SHARE}{sel}, {EPS:g})"
    return [
        {"record": ROWS, "expr": f"sum by ({by_feature}) ({increase})"},
        {"record": LIVE_SHARE, "expr": f"sum by ({by_bin}) ({increase}) / on ({by_feature}) group_left {ROWS}{sel}"},
        {"record": REFERENCE_SHARE, "expr": f"max by ({by_bin}) ({m.DRIFT_REFERENCE_SHARE}{sel})"},
        {"record": PSI, "expr": f"sum by ({by_feature}) (({s} - {r}) * ln({s} / {r}))"},
    ]


def alert_rules(model: str, cfg: Any, op: str, threshold: float, source: str) -> list[dict[str, Any]]:
    from mlready.generators._shared.alerts import Alert, alert_rule

    d = cfg.drift
    rules = []
    for name, feature_sel, summary, what in (
        (FEATURE_ALERT, f'{m.LABEL_FEATURE}!="{m.PREDICTION_FEATURE}"',
         f"{model}: feature {{{{ $labels.feature }}}} drifted from the training data", "feature {{ $labels.feature }}"),
        (PREDICTION_ALERT, f'{m.LABEL_FEATURE}="{m.PREDICTION_FEATURE}"',
         f"{model}: the predictions shifted from the training data", "the predictions"),
    ):
        sel = f'{{{m.LABEL_MODEL}="{model}", {feature_sel}}}'
        condition = f"{op} {threshold:g} and on ({m.LABEL_MODEL}, {m.LABEL_FEATURE}) {ROWS}{sel} >= {d.min_rows}"
        description = (f"PSI of {what} is {{{{ $value | printf \"%.3f\" }}}} over {d.window} "
                       f"(alert {op} {threshold:g}: {source}).")
        rules.append(alert_rule(Alert(name, f"{PSI}{sel}", condition, d.alert_for, "warning", summary, description),
                                model, cfg))
    return rules


def drift_rule_groups(spec: Any) -> list[dict[str, Any]]:
    """The drift group (recording rules, then the two alerts), or nothing when the server does not count."""
    if not drift_active(spec):
        return []
    cfg = spec.section("monitoring.prometheus")
    model = spec.model_name
    op, threshold, source = drift_threshold(spec)
    return [{
        "name": f"mlready-{spec.project.name}-drift",
        "rules": recording_rules(model, cfg.drift.window) + alert_rules(model, cfg, op, threshold, source),
    }]
