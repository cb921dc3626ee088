"""Spec sections of the monitoring generators: ``monitoring.prometheus`` (alert rules and the SLO) and
``monitoring.grafana`` (the dashboard and its provisioning files). ``+monitoring=grafana`` turns both on.
"""

from __future__ import annotations

import re

from mlready.engine.plugin import Section
from pydantic import Field, field_validator

DURATION = r"^([0-9]+(ms|s|m|h|d|w|y))+$"  # a Prometheus duration


class SloSpec(Section):
    """The service level objective the alerts hold the server to."""

    p99_latency_seconds: float = Field(0.5, gt=0, description="p99 request latency must stay below this")
    error_ratio: float = Field(0.01, gt=0, le=1, description="share of requests answered 5xx that is tolerated")
    window: str = Field("5m", pattern=DURATION, description="rate window of the SLO expressions")


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", duration))


class DriftRulesSpec(Section):
    """Live drift rules (recording rules: PSI per feature and of the predictions; alerts MlreadyFeatureDrift and
    MlreadyPredictionShift at the threshold of the build's ``drift.psi.max`` gate)."""

    enabled: bool = Field(True, description="emit the drift rules when the server counts (serving.drift and data)")
    window: str = Field("1h", pattern=DURATION, description="the live rows PSI is computed over")
    alert_for: str = Field("15m", pattern=DURATION, description="how long PSI must stay above the threshold")
    min_rows: int = Field(100, ge=1, le=1_000_000_000, description="rows in the window before an alert can fire")

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        if not 10 <= _seconds(v) <= 90 * 86400:
            raise ValueError(f"{v!r}: expected a window between 10s and 90d (it must span several scrapes; "
                             "Prometheus keeps 15d by default)")
        return v


class AccuracyRulesSpec(Section):
    """Live accuracy rules (``_shared/accuracy_rules.py``): the readiness gates on model metrics (accuracy,
    precision, recall, f1 and their macro/weighted forms, mae, rmse) as alerts on the feedback the server joins
    (``serving.feedback``); ``MlreadyLiveGateFailing{metric}`` fires when the live metric fails its gate."""

    enabled: bool = Field(True, description="emit the accuracy rules when the server takes feedback")
    window: str = Field("1h", pattern=DURATION, description="the labelled rows the live metrics are computed over")
    alert_for: str = Field("15m", pattern=DURATION, description="how long the live metric must fail its gate")
    min_rows: int = Field(100, ge=1, le=1_000_000_000,
                          description="labelled rows in the window before an alert can fire")

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        return DriftRulesSpec._window(v)  # the same bounds: several scrapes, within Prometheus' retention


class PrometheusSpec(Section):
    """Prometheus alert rules (kind ``prometheus-rules``)."""

    enabled: bool = False
    slo: SloSpec = Field(default_factory=SloSpec)
    error_for: str = Field("5m", pattern=DURATION, description="how long the error ratio must stay high")
    latency_for: str = Field("10m", pattern=DURATION)
    not_ready_for: str = Field("5m", pattern=DURATION)
    no_traffic_for: str = Field("15m", pattern=DURATION)
    no_traffic_window: str = Field("10m", pattern=DURATION, description="rate window of the no-traffic alert")
    load_failed_for: str = Field("0m", pattern=DURATION)
    runbook_url: str = Field("", description="base URL of the runbooks; the alert name is appended")
    accuracy: AccuracyRulesSpec = Field(default_factory=AccuracyRulesSpec)
    drift: DriftRulesSpec = Field(default_factory=DriftRulesSpec)

    @field_validator("runbook_url")
    @classmethod
    def _runbook(cls, v: str) -> str:  # alert UIs render it as a link: http(s) only, no javascript: or data:
        if v and not re.fullmatch(r"https?://[^\s<>\"'`]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v


class GrafanaSpec(Section):
    """The Grafana dashboard (kind ``grafana-dashboard``) and provisioning files."""

    enabled: bool = False
    title: str = Field("", description="dashboard title (default: '<project> model server')")
    folder: str = Field("mlready", min_length=1, description="Grafana folder the dashboard is provisioned in")
    datasource: str = Field("Prometheus", min_length=1, description="name of the provisioned Prometheus datasource")
    datasource_url: str = Field("http://prometheus:9090", pattern=r"^https?://\S+$")
    refresh: str = Field("30s", pattern=DURATION)
    time_from: str = Field("now-1h", pattern=r"^now-[0-9]+[smhdwy]$")
