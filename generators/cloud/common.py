"""What the cloud targets share: the image reference, the serving section's ports and routes, script text."""

from __future__ import annotations

import shlex
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


def shell_script(header: str, lines: list[str]) -> str:
    """A POSIX shell script: the header, strict mode, then ``lines`` (already quoted with :func:`q`)."""
    return header + "set -eu\n" + "\n".join(lines) + "\n"


def q(value: Any) -> str:
    return shlex.quote(str(value))
