"""What the cloud targets share: the image reference, the serving section's ports and routes, script text."""

from __future__ import annotations

import re
import shlex
from typing import Any

from mlready.engine.errors import SpecProblem
from mlready.generators.docker import image_ref as docker_image_ref

#: names a cloud section may give its image: a registry path with a tag or digest, no credentials
IMAGE_REF = re.compile(r"^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")


def check_image(value: str | None) -> str | None:
    if value is None:
        return value
    if "@" in value.split("/", 1)[0] or "://" in value or not IMAGE_REF.match(value):
        raise ValueError(f"{value!r} is not an image reference like "
                         "'123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1.0.0' (no scheme, no credentials)")
    return value


def image_ref(spec: Any, override: str | None) -> str:
    """The image the cloud serves: ``override``, else ``<target.docker.registry>/<project>:<version>``
    (without a registry prefix when target.docker.registry is unset: a parameter to fill at deploy time)."""
    if override:
        return override
    if spec.optional_section("target.docker") is None:  # no docker generator installed
        repo, tag = spec.project.name, spec.project.version
    else:
        repo, tag = docker_image_ref(spec)
    return f"{repo}:{tag}"


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


def shell_script(header: str, lines: list[str]) -> str:
    """A POSIX shell script: the header, strict mode, then ``lines`` (already quoted with :func:`q`)."""
    return header + "set -eu\n" + "\n".join(lines) + "\n"


def q(value: Any) -> str:
    return shlex.quote(str(value))
