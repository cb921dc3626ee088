"""``+target=compose``: an on-premises compose bundle (see README.md).

    compose/compose.yaml    kind compose-file
    compose/prometheus.yml  kind compose-prometheus-config   (when monitoring is on)
"""

from __future__ import annotations

from typing import Any

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.generators._shared.facts import image_reference, monitoring
from mlready.generators.compose import services
from mlready.generators.compose.spec import ComposeSpec
from mlready.generators.monitoring.ids import DASHBOARDS_DIR, GRAFANA_STEP, RULES_STEP

OUT = "compose"
DEFAULT_UID = 10001


def _user(spec: Any) -> tuple[int, int]:
    docker = spec.optional_section("target.docker")
    return (docker.uid, docker.gid) if docker is not None else (DEFAULT_UID, DEFAULT_UID)


def compose_document(spec: Any, cfg: ComposeSpec) -> dict[str, Any]:
    rules, grafana = monitoring(spec)
    uid, gid = _user(spec)
    doc: dict[str, Any] = {
        "name": spec.project.name,
        "services": {"model": services.model_service(spec, cfg, image_reference(spec, cfg.image), uid, gid)},
    }
    if rules or grafana:
        prom = services.prometheus_service(cfg)
        if not rules:
            prom["volumes"] = [v for v in prom["volumes"] if "rules" not in v]
        doc["services"]["prometheus"] = prom
        doc["volumes"] = {"prometheus-data": {}}
    if grafana:
        doc["services"]["grafana"] = services.grafana_service(cfg, DASHBOARDS_DIR)
        doc["volumes"]["grafana-data"] = {}
        doc["secrets"] = {"grafana_admin_password": {"file": f"./{services.GRAFANA_PASSWORD_FILE}"}}
    capture = spec.section("serving").capture
    if capture.enabled and capture.sink == "file":  # the capture files outlive the container
        doc["services"]["model"]["volumes"] = [f"{services.CAPTURE_VOLUME}:{capture.directory}"]
        doc.setdefault("volumes", {})[services.CAPTURE_VOLUME] = {}
    return doc


class ComposeGenerator(Generator[ComposeSpec]):
    name = "compose"
    group = "target"
    section = "target.compose"
    config_model = ComposeSpec
    description = "On-premises compose bundle: model server (+ Prometheus and Grafana when monitoring is on)"

    def validate(self, spec: Any) -> list[SpecProblem]:
        cfg = self.config(spec)
        srv = spec.section("serving")
        published = {"target.compose.http_port": cfg.http_port or srv.http_port,
                     "target.compose.grpc_port": cfg.grpc_port or srv.grpc_port}
        rules, grafana = monitoring(spec)
        if rules or grafana:
            published |= {"target.compose.prometheus_port": cfg.prometheus_port}
        if grafana:
            published |= {"target.compose.grafana_port": cfg.grafana_port}
        seen: dict[int, str] = {}
        problems = []
        for key, port in published.items():
            if port and port in seen:
                problems.append(SpecProblem("", key, f"host port {port} is already published by {seen[port]}"))
            seen.setdefault(port, key)
        return problems

    def steps(self, spec: Any) -> list[Step]:
        cfg = self.config(spec)
        rules, grafana = monitoring(spec)
        deps = tuple(d for d, on in ((RULES_STEP, rules), (GRAFANA_STEP, grafana)) if on)

        def run(ctx: StepContext) -> list[Artifact]:
            head = ctx.header("#")
            arts = [Artifact.yaml(f"{OUT}/compose.yaml", "compose-file", compose_document(ctx.spec, cfg), header=head)]
            if rules or grafana:
                arts.append(Artifact.yaml(f"{OUT}/{services.PROMETHEUS_CONFIG}", "compose-prometheus-config",
                                          services.prometheus_config(ctx.spec), header=head))
            return arts

        return [Step(id="compose.bundle", run=run, deps=deps,
                     reads=("project", "model.name", "serving", "target.docker", "monitoring.prometheus",
                            "monitoring.grafana"),
                     config={"cfg": cfg, "project": spec.project, "model": spec.model_name,
                             "image": image_reference(spec, cfg.image), "user": _user(spec),
                             "serving": spec.section("serving"), "monitoring": [rules, grafana]},
                     description="on-premises compose bundle")]
