"""The monitoring generators: Prometheus alert rules and the Grafana dashboard with its provisioning files.

Build-dir layout (``monitoring/``)::

    prometheus/rules.yml                          kind prometheus-rules
    grafana/dashboards/<project>.json             kind grafana-dashboard
    grafana/provisioning/datasources/mlready.yml  kind grafana-provisioning
    grafana/provisioning/dashboards/mlready.yml   kind grafana-provisioning
"""

from __future__ import annotations

from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.generators._shared.alerts import alert_rule_groups
from mlready.generators.monitoring.dashboard import dashboard
from mlready.generators.monitoring.ids import (
    DASHBOARD_KIND,
    DASHBOARDS_DIR,
    GRAFANA_STEP,
    PROVISIONING_KIND,
    RULES_KIND,
    RULES_STEP,
)
from mlready.generators.monitoring.spec import GrafanaSpec, PrometheusSpec

RULES_PATH = "monitoring/prometheus/rules.yml"


class PrometheusRulesGenerator(Generator[PrometheusSpec]):
    name = "prometheus"
    group = "monitoring"
    section = "monitoring.prometheus"
    config_model = PrometheusSpec
    description = "Prometheus alert rules for the model server, with the SLO from the spec"

    def validate(self, spec) -> list:
        from mlready.engine.errors import SpecProblem
        from mlready.generators._shared.drift_rules import drift_active, drift_problems

        if not self.config(spec).enabled or not drift_active(spec):
            return []
        return [SpecProblem("", key, message) for key, message in drift_problems(spec)]

    def steps(self, spec) -> list[Step]:
        cfg = self.config(spec)

        def run(ctx: StepContext) -> list[Artifact]:
            return [Artifact.yaml(RULES_PATH, RULES_KIND, {"groups": alert_rule_groups(ctx.spec)},
                                  header=ctx.header("#"))]

        return [Step(id=RULES_STEP, run=run, config={"cfg": cfg, "model": spec.model_name,
                     "project": spec.project},
                     reads=("project", "model.name", "data", "readiness.sample.gates", "serving.drift",
                            "readiness.gates", "serving.feedback"),
                     description="Prometheus alert rules")]


def provisioning(cfg: GrafanaSpec) -> tuple[dict, dict]:
    datasources = {
        "apiVersion": 1,
        "datasources": [{"name": cfg.datasource, "type": "prometheus", "access": "proxy", "url": cfg.datasource_url,
                         "isDefault": True, "editable": False, "jsonData": {"timeInterval": "15s"}}],
    }
    dashboards = {
        "apiVersion": 1,
        "providers": [{"name": "mlready", "folder": cfg.folder, "type": "file", "disableDeletion": False,
                       "allowUiUpdates": False, "updateIntervalSeconds": 60,
                       "options": {"path": DASHBOARDS_DIR, "foldersFromFilesStructure": False}}],
    }
    return datasources, dashboards


class GrafanaGenerator(Generator[GrafanaSpec]):
    name = "grafana"
    group = "monitoring"
    section = "monitoring.grafana"
    config_model = GrafanaSpec
    description = "Grafana dashboard of the model server, and provisioning files"

    def steps(self, spec) -> list[Step]:
        cfg = self.config(spec)
        slo = spec.section(PrometheusRulesGenerator.section)

        def run(ctx: StepContext) -> list[Artifact]:
            ds, dash = provisioning(cfg)
            head = ctx.header("#")
            return [
                Artifact.json(f"monitoring/grafana/dashboards/{ctx.spec.project.name}.json", DASHBOARD_KIND,
                              dashboard(ctx.spec, cfg, slo)),
                Artifact.yaml("monitoring/grafana/provisioning/datasources/mlready.yml", PROVISIONING_KIND,
                              ds, header=head),
                Artifact.yaml("monitoring/grafana/provisioning/dashboards/mlready.yml", PROVISIONING_KIND,
                              dash, header=head),
            ]

        return [Step(id=GRAFANA_STEP, run=run, config={"cfg": cfg, "slo": slo, "model": spec.model_name,
                     "project": spec.project},
                     reads=("project", "model.name", "monitoring.prometheus", "data", "readiness.sample.gates",
                            "serving.drift", "readiness.gates", "serving.feedback"),
                     description="Grafana dashboard and provisioning")]
