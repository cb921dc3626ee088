"""The cloud platforms' container contracts: the runtime answers SageMaker's, Vertex AI's and Azure ML's routes
when ``serving.cloud.<platform>`` is on (the online endpoints of generators/cloud and the batch jobs of
generators/batch both need them)."""

from __future__ import annotations

from typing import Any

from mlready.engine.errors import SpecProblem


def require_cloud_contract(spec: Any, target: str, flag: str, port: int | None = None) -> list[SpecProblem]:
    """The runtime must speak ``target``'s container contract (``serving.cloud.<flag>``) on ``port``."""
    problems = []
    srv = spec.section("serving")
    if not getattr(srv.cloud, flag):
        problems.append(SpecProblem("", f"serving.cloud.{flag}", f"+target={target} needs the runtime's {target} "
                                    f"routes; this spec turns them off"))
    if port is not None and srv.http_port != port:
        problems.append(SpecProblem("", "serving.http_port", f"{target} sends requests to port {port}; "
                                    f"got {srv.http_port}"))
    return problems
