"""The Dockerfile's typed template context: every value is validated or quoted here, before Jinja sees it."""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass

TEMPLATE = "docker/Dockerfile.j2"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN_PATH = re.compile(r"(/[A-Za-z0-9._-]+)+")


def label(value: str) -> str:
    """A Dockerfile LABEL value: double-quoted, with ``\\``, ``"`` and ``$`` (variable expansion) escaped."""
    if _CONTROL.search(value):
        raise ValueError(f"label value {value!r} contains a control character (newline, tab, ...)")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def label_instruction(labels: dict[str, str]) -> str:
    """``LABEL k="v" \\ ...`` in the given order; empty values are left out."""
    pairs = [f"{key}={label(value)}" for key, value in labels.items() if value]
    for key in labels:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", key):
            raise ValueError(f"bad label key {key!r}")
    return "LABEL " + " \\\n      ".join(pairs)


def pip_source(wheelhouse: bool, index_url: str | None) -> str:
    """The pip options naming where packages come from (with a trailing space), or "" for the default index."""
    if wheelhouse:
        return "--no-index --find-links=/tmp/mlready/wheelhouse "
    return f"--index-url={shlex.quote(index_url)} " if index_url else ""


def prune_lines(paths: list[str]) -> str:
    """Shell lines (each `` && rm -rf ... \\`` + newline) removing site-packages paths; "" for none."""
    return "".join(f" && rm -rf /opt/venv/lib/python3*/site-packages/{p} \\\n" for p in paths)


@dataclass(frozen=True)
class DockerfileContext:
    header: str
    base: str  # image[@digest], validated by the section model
    variant: str  # "cpu" | "gpu"
    tag: str
    model_name: str
    model_version: int
    labels: str  # the LABEL instruction, see label_instruction
    wheelhouse: bool
    pip_source: str  # see pip_source
    prune_lines: str  # see prune_lines
    uid: int
    gid: int
    model_repository: str
    ports: tuple[int, ...]
    http_port: int
    healthcheck_interval: int
    healthcheck_start_period: int
    capture_dir: str | None = None  # serving.capture's directory (file sink), checked by the runtime config

    def __post_init__(self) -> None:
        if not all(isinstance(p, int) and 0 < p < 65536 for p in self.ports):
            raise ValueError(f"bad ports {self.ports}")
        if self.capture_dir is not None and not _PLAIN_PATH.fullmatch(self.capture_dir):
            raise ValueError(f"bad capture directory {self.capture_dir!r}")
        if self.variant not in ("cpu", "gpu"):
            raise ValueError(f"bad variant {self.variant!r}")
        if _CONTROL.search(self.tag + self.model_name) or " " in self.tag:
            raise ValueError("tag and model name must be single-line words")

    def vars(self) -> dict:
        return asdict(self)
