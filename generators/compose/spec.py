"""The ``target.compose`` section: the on-premises compose bundle (one or a few hosts)."""

from __future__ import annotations

import re

from mlready.engine.plugin import Section
from mlready.generators._shared.facts import check_image
from pydantic import Field, field_validator

_MEMORY = re.compile(r"^[0-9]+(b|k|m|g)$")


class ComposeSpec(Section):
    """Enabled by ``+target=compose``."""

    enabled: bool = False
    image: str | None = Field(None, description="the model server image; default "
                              "<target.docker.registry>/<project>:<version> (what `mlready image` tags)")
    bind_address: str = Field("0.0.0.0", pattern=r"^[0-9.]+$|^\[[0-9a-fA-F:]+\]$",
                              description="host address the published ports listen on")
    http_port: int | None = Field(None, ge=1, le=65535, description="host port for REST; default serving.http_port")
    grpc_port: int | None = Field(None, ge=1, le=65535, description="host port for gRPC; default serving.grpc_port")
    cpus: float = Field(1.0, gt=0, description="CPU limit of the model server")
    memory: str = Field("1g", description="memory limit of the model server, e.g. 512m, 2g")
    restart: str = Field("unless-stopped", pattern=r"^(no|always|on-failure|unless-stopped)$")
    prometheus_image: str = Field("docker.io/prom/prometheus:v2.55.1", description="used when monitoring is on")
    grafana_image: str = Field("docker.io/grafana/grafana:11.3.1", description="used when monitoring is on")
    grafana_port: int = Field(3000, ge=1, le=65535)
    prometheus_port: int = Field(9091, ge=1, le=65535, description="host port of Prometheus' UI")

    _image = field_validator("image", "prometheus_image", "grafana_image")(
        classmethod(lambda cls, v: check_image(v)))

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        if not _MEMORY.match(v.lower()):
            raise ValueError(f"{v!r} is not a memory size like '512m' or '2g'")
        return v.lower()
