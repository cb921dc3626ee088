"""The Grafana dashboard of one model server, as data (Grafana's dashboard JSON model, ``SCHEMA_VERSION``).

Template variables: ``datasource`` (any Prometheus), ``model``, ``version`` (multi, All = ``.*``) and ``job``
(the scrape job(s) serving the model, for the per-process panels). Every query has an explicit ``refId``.
:func:`panel_queries` lists (panel title, refId, expr) for the end-to-end tests. Drift and live accuracy panels
follow the operational ones when the server counts drift / takes feedback; they read the recording rules the
alerts read (aggregated per model, so the ``version`` variable does not filter them).
"""

from __future__ import annotations

from typing import Any

from mlready.generators._shared import promql as q
from mlready.generators.monitoring.spec import GrafanaSpec, PrometheusSpec
from mlready.runtime import metrics as m

#: Grafana 11.6's dashboard schema version (pinned; the tests validate against grafana-foundation-sdk 11.6)
SCHEMA_VERSION = 41
GRAFANA_VERSION = "11.6"
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
MODEL = {m.LABEL_MODEL: "$model", m.LABEL_VERSION: "~$version"}
JOB = {"job": "~$job"}
ERRORS = ("mae", "rmse")  # the live metrics in the target's units (the others are shares, 0..1)


def _target(ref: str, expr: str, legend: str) -> dict[str, Any]:
    return {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend, "range": True,
            "refId": ref}


def _panels(slo_p99: float, slo_errors: float) -> list[tuple[str, str, str, list[tuple[str, str]], dict]]:
    """(title, unit, description, [(expr, legend)], extra field defaults) per panel, in layout order."""
    sm = q.sel(**MODEL)
    thr = lambda v: {"thresholds": {"mode": "absolute", "steps": [  # noqa: E731
        {"color": "green", "value": None}, {"color": "red", "value": v}]}}
    return [
        ("Request rate", "reqps", "Requests answered per second, by protocol and status.",
         [(f"sum by ({m.LABEL_PROTOCOL}, {m.LABEL_STATUS}) ({q.rate(m.REQUESTS_TOTAL, sm, RATE)})",
           "{{protocol}} {{status}}")], {}),
        ("Error ratio", "percentunit", f"Share of requests answered 5xx (SLO {slo_errors:.2%}).",
         [(q.error_ratio(MODEL, RATE), "5xx ratio")], thr(slo_errors)),
        ("Latency p50 / p95 / p99", "s", f"Request latency in the server (p99 SLO {slo_p99:g}s).",
         [(q.quantile(x, m.REQUEST_DURATION, sm, RATE), f"p{round(x * 100)}") for x in (0.5, 0.95, 0.99)],
         thr(slo_p99)),
        ("Queue time vs inference time", "s", "p95 time waiting for a batch slot against p95 onnxruntime time.",
         [(q.quantile(0.95, m.QUEUE_DURATION, sm, RATE), "queue p95"),
          (q.quantile(0.95, m.INFERENCE_DURATION, sm, RATE), "inference p95")], {}),
        ("Batch size", "short", "Rows per onnxruntime call: mean and p95.",
         [(q.mean(m.BATCH_SIZE, sm, RATE), "mean"), (q.quantile(0.95, m.BATCH_SIZE, sm, RATE), "p95")], {}),
        ("In-flight requests", "short", "Requests being processed, by protocol.",
         [(f"sum by ({m.LABEL_PROTOCOL}) ({m.INFLIGHT_REQUESTS}{q.sel(**JOB)})", "{{protocol}}")], {}),
        ("Loaded versions per model", "short", "Versions in state AVAILABLE, per model.",
         [(f"count by ({m.LABEL_MODEL}) (max by ({m.LABEL_MODEL}, {m.LABEL_VERSION}) "
           f"({q.available({})}) == 1)", "{{model}}")], {}),
        ("Replicas", "short", "Server instances with an AVAILABLE version of the model.",
         [(f"count(max by (instance) ({q.available({m.LABEL_MODEL: '$model'})}) == 1)", "replicas")], {}),
        ("CPU", "percentunit", "CPU time used by the server processes (1 = one core).",
         [(f"sum by (instance) ({q.rate(q.PROCESS_CPU, q.sel(**JOB), RATE)})", "{{instance}}")], {}),
        ("Memory", "bytes", "Resident memory of the server processes.",
         [(f"sum by (instance) ({q.PROCESS_MEMORY}{q.sel(**JOB)})", "{{instance}}")], {}),
    ]


def _drift_panels(spec) -> list[tuple[str, str, str, list[tuple[str, str]], dict]]:
    """The drift panels (the drift recording rules' series), when the server counts drift."""
    from mlready.generators._shared import drift_rules as d

    if not d.drift_active(spec):
        return []
    _, threshold, source = d.drift_threshold(spec)
    window = spec.section("monitoring.prometheus").drift.window
    feats = f'{{{m.LABEL_MODEL}="$model", {m.LABEL_FEATURE}!="{m.PREDICTION_FEATURE}"}}'
    pred = f'{{{m.LABEL_MODEL}="$model", {m.LABEL_FEATURE}="{m.PREDICTION_FEATURE}"}}'
    thr = {"thresholds": {"mode": "absolute", "steps": [
        {"color": "green", "value": None}, {"color": "red", "value": threshold}]}}
    why = f"PSI over {window} against the training reference; alert above {threshold:g} ({source})."
    return [
        ("Drift per feature (PSI)", "short", f"Each feature's {why}", [(f"{d.PSI}{feats}", "{{feature}}")], thr),
        ("Top drifting features", "short", f"The 5 features with the highest {why}",
         [(f"topk(5, {d.PSI}{feats})", "{{feature}}")], thr),
        ("Prediction shift (PSI)", "short", f"The predictions' {why}", [(f"{d.PSI}{pred}", "predictions")], thr),
        ("Predicted classes / output bins: live vs reference", "percentunit",
         f"Share of the predictions per class (or output bin) over {window}, and in the training reference.",
         [(f"{d.LIVE_SHARE}{pred}", "live {{bin}}"), (f"{d.REFERENCE_SHARE}{pred}", "reference {{bin}}")], {}),
    ]


def _gate_thresholds(gates: list) -> dict[str, Any]:
    """Grafana threshold steps, one per gate bound (each drawn as a dashed line): green where the live metric
    passes every gate on it, red elsewhere. A step holds from its value up, so at a bound Grafana cannot tell
    ``>=`` from ``>``: each interval between bounds takes the colour of its midpoint."""
    cuts = sorted({g.threshold for g in gates})
    probes = [(a + b) / 2 for a, b in zip(cuts, cuts[1:], strict=False)] + [cuts[-1] + 1]

    def colour(x: float) -> str:
        return "green" if all(g.check(x) for g in gates) else "red"

    steps = [{"color": colour(cuts[0] - 1), "value": None}]
    steps += [{"color": colour(probe), "value": cut} for cut, probe in zip(cuts, probes, strict=True)]
    return {"custom": {"thresholdsStyle": {"mode": "dashed"}},
            "thresholds": {"mode": "absolute", "steps": steps}}


def _accuracy_panels(spec) -> list[tuple[str, str, str, list[tuple[str, str]], dict]]:
    """The live accuracy panels (the accuracy recording rules' series, the ones the live alerts read), when the
    server takes feedback and a readiness gate compiles into a live alert: one per gated metric with the gates'
    bounds as thresholds, per-class precision / recall / F1 (classifiers), labelled rows, feedback outcomes."""
    from mlready.generators._shared import accuracy_rules as a

    if not a.accuracy_active(spec):
        return []
    cfg = spec.section("monitoring.prometheus").accuracy
    gates: dict[str, list] = {}
    for gate in a.live_gates(spec):
        gates.setdefault(gate.metric, []).append(gate)
    sel = q.sel(**{m.LABEL_MODEL: "$model"})
    rows = f"over the labelled rows of the last {cfg.window} (alerts need {cfg.min_rows} or more)"
    panels = [
        (f"Live {metric}", "short" if metric in ERRORS else "percentunit",
         f"{metric} {rows}, from the feedback joined with the answers; the build's gate{'s' * (len(gs) > 1)}: "
         f"{' and '.join(g.text for g in gs)}.", [(f"{a.PREFIX}{metric}{sel}", metric)], _gate_thresholds(gs))
        for metric, gs in gates.items()]
    if set(gates) - set(ERRORS):  # the rules record the per-class series for classification gates only
        panels.append(("Live precision / recall / F1 per class", "percentunit", f"Per class, {rows}.",
                       [(f"{a.CLASS_PREFIX}{k}{sel}", f"{k} {{{{class}}}}") for k in a.PER_CLASS], {}))
    enough = {"thresholds": {"mode": "absolute", "steps": [
        {"color": "orange", "value": None}, {"color": "green", "value": cfg.min_rows}]}}
    panels += [
        ("Labelled rows per window", "short",
         f"Rows joined with their true label over the last {cfg.window}; the accuracy alerts need "
         f"{cfg.min_rows} or more.", [(f"{a.ROWS}{sel}", f"labelled rows ({cfg.window})")], enough),
        ("Feedback ids by outcome", "short",
         f"Request ids in the feedback posted over the last {cfg.window}: joined, unknown (never answered, or "
         "another model's), expired (evicted from the store before the label came), duplicate (labelled before).",
         [(f"sum by (outcome) (increase({m.FEEDBACK_IDS_TOTAL}{sel}[{cfg.window}]))", "{{outcome}}")], {}),
    ]
    return panels


def _panel(pid: int, title: str, unit: str, desc: str, exprs: list[tuple[str, str]], extra: dict) -> dict:
    refs = "ABCDEFGH"
    return {
        "datasource": DS,
        "description": desc,
        "fieldConfig": {"defaults": {"unit": unit, **extra}, "overrides": []},
        "gridPos": {"h": 8, "w": 12, "x": 12 * ((pid - 1) % 2), "y": 8 * ((pid - 1) // 2)},
        "id": pid,
        "options": {"legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "none"}},
        "targets": [_target(refs[i], e, legend) for i, (e, legend) in enumerate(exprs)],
        "title": title,
        "type": "timeseries",
    }


def _query_var(name: str, label: str, query: str, *, multi: bool, current: str) -> dict[str, Any]:
    var: dict[str, Any] = {
        "current": {"text": current, "value": current},
        "datasource": DS,
        "includeAll": multi,
        "label": label,
        "multi": multi,
        "name": name,
        "options": [],
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "type": "query",
    }
    if multi:
        var["allValue"] = ".*"
        var["current"] = {"text": "All", "value": "$__all"}
    return var


def dashboard(spec, cfg: GrafanaSpec, slo: PrometheusSpec) -> dict[str, Any]:
    model = spec.model_name
    state = f"{m.MODEL_VERSION_STATE}{q.sel(**{m.LABEL_MODEL: '$model'})}"
    variables = [
        {"current": {"text": cfg.datasource, "value": cfg.datasource}, "label": "Data source",
         "name": "datasource", "options": [], "query": "prometheus", "refresh": 1, "regex": "",
         "type": "datasource"},
        _query_var("model", "Model", f"label_values({m.MODEL_VERSION_STATE}, {m.LABEL_MODEL})", multi=False,
                   current=model),
        _query_var("version", "Version", f"label_values({state}, {m.LABEL_VERSION})", multi=True, current=""),
        _query_var("job", "Job", f"label_values({state}, job)", multi=True, current=""),
    ]
    panels = [_panel(i, *p) for i, p in enumerate(
        _panels(slo.slo.p99_latency_seconds, slo.slo.error_ratio) + _drift_panels(spec)
        + _accuracy_panels(spec), 1)]
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": f"mlready model server: {model} ({spec.project.name} {spec.project.version})",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "links": [],
        "panels": panels,
        "refresh": cfg.refresh,
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["mlready", model],
        "templating": {"list": variables},
        "time": {"from": cfg.time_from, "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": cfg.title or f"{spec.project.name} model server",
        "uid": f"mlready-{spec.project.name}"[:40],
        "version": 1,
    }


def panel_queries(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(p["title"], t["refId"], t["expr"]) for p in doc["panels"] for t in p["targets"]]
