"""Prometheus alert rules for one model: high error ratio, p99 above the SLO, model not ready, no traffic,
version failed to load.

Each alert is a *signal* (an expression that has a value on every healthy, loaded server) compared with a
threshold; the end-to-end test evaluates the signals through a real Prometheus, promtool unit tests drive the
whole alerts. :func:`alert_rule_groups` is the public entry point: the monitoring generator writes them as a
rule file, the k8s target puts the same groups in its PrometheusRule object (``cfg`` is the
``monitoring.prometheus`` section).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlready.generators._shared import promql as q
from mlready.runtime import metrics as m


@dataclass(frozen=True)
class Alert:
    name: str
    signal: str
    condition: str  # appended to the signal: "> 0.01", "== 0"
    duration: str
    severity: str
    summary: str
    description: str
    labels: tuple[tuple[str, str], ...] = ()  # besides severity and model, e.g. (("metric", "f1"),)

    @property
    def expr(self) -> str:
        return f"{self.signal} {self.condition}"


def alerts(model: str, cfg: Any) -> list[Alert]:
    slo = cfg.slo
    w = slo.window
    model_sel = {m.LABEL_MODEL: model}
    return [
        Alert(
            "MlreadyHighErrorRatio", q.error_ratio(model_sel, w, by=m.LABEL_MODEL), f"> {slo.error_ratio:g}",
            cfg.error_for, "critical", f"{model}: more than {slo.error_ratio:.2%} of requests fail",
            f"{{{{ $value | humanizePercentage }}}} of {model}'s requests answered 5xx over {w} "
            f"(SLO {slo.error_ratio:.2%}).",
        ),
        Alert(
            "MlreadyLatencyP99AboveSLO",
            q.quantile(0.99, m.REQUEST_DURATION, q.sel(**model_sel), w, by=m.LABEL_MODEL),
            f"> {slo.p99_latency_seconds:g}", cfg.latency_for, "warning",
            f"{model}: p99 latency above {slo.p99_latency_seconds:g}s",
            f"p99 request latency of {model} is {{{{ $value | humanizeDuration }}}} over {w} "
            f"(SLO {slo.p99_latency_seconds:g}s).",
        ),
        Alert(
            "MlreadyModelNotReady", f"max by ({m.LABEL_MODEL}, instance) ({q.available(model_sel)})", "< 1",
            cfg.not_ready_for, "critical", f"{model}: no version is AVAILABLE",
            f"{{{{ $labels.instance }}}} serves no version of {model} in state AVAILABLE.",
        ),
        Alert(
            "MlreadyNoTraffic",
            f"sum by ({m.LABEL_MODEL}) ({q.rate(m.REQUESTS_TOTAL, q.sel(**model_sel), cfg.no_traffic_window)})",
            "== 0", cfg.no_traffic_for, "warning", f"{model}: no requests",
            f"{model} answered no request in the last {cfg.no_traffic_window}.",
        ),
        Alert(
            "MlreadyVersionLoadFailed",
            f"max by ({m.LABEL_MODEL}, {m.LABEL_VERSION}, instance) "
            f"({m.MODEL_VERSION_STATE}{q.sel(**model_sel, **{m.LABEL_STATE: 'FAILED'})})",
            "== 1", cfg.load_failed_for, "critical", f"{model}: version {{{{ $labels.version }}}} failed to load",
            f"Version {{{{ $labels.version }}}} of {model} is in state FAILED on {{{{ $labels.instance }}}}.",
        ),
    ]


def alert_rule(a: Alert, model: str, cfg: Any) -> dict[str, Any]:
    """``a`` as a Prometheus alerting rule (``cfg``: the ``monitoring.prometheus`` section, for the runbooks)."""
    rule: dict[str, Any] = {"alert": a.name, "expr": a.expr}
    if a.duration not in ("0m", "0s"):
        rule["for"] = a.duration
    rule["labels"] = {"severity": a.severity, m.LABEL_MODEL: model, **dict(a.labels)}
    ann = {"summary": a.summary, "description": a.description}
    if cfg.runbook_url:
        ann["runbook_url"] = f"{cfg.runbook_url.rstrip('/')}/{a.name}"
    rule["annotations"] = ann
    return rule


def alert_rule_groups(spec) -> list[dict[str, Any]]:
    """The rule groups for this spec's model (the ``groups`` of a Prometheus rule file / PrometheusRule)."""
    cfg = spec.section("monitoring.prometheus")
    model = spec.model_name
    from mlready.generators._shared.accuracy_rules import accuracy_rule_groups
    from mlready.generators._shared.drift_rules import drift_rule_groups

    return [{
        "name": f"mlready-{spec.project.name}",
        "rules": [alert_rule(a, model, cfg) for a in alerts(model, cfg)],
    }, *drift_rule_groups(spec), *accuracy_rule_groups(spec)]
