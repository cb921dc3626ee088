"""The ``target.docker`` section: how the model-server image is built.

Single-field rules live here so an error names the key (``target.docker.uid: must be >= 10000``); values that
end up in the Dockerfile are validated to a strict grammar (image references, digests, label text) before
they reach the template.
"""

from __future__ import annotations

import re
from typing import Literal

from mlready.engine.plugin import Section
from pydantic import Field, field_validator

# docker/distribution reference grammar, simplified: [registry[:port]/]path[:tag] (no digest; see base_digest)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
IMAGE_REF = re.compile(rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
GPU_REQUIREMENT = re.compile(r"onnxruntime[-_a-z0-9]*(\[[a-z0-9_-]+(,[a-z0-9_-]+)*\])?==[0-9][0-9a-z.+!-]*", re.I)
INDEX_URL = re.compile(r"^https?://[^\s\"'\\]+$")


def check_image(value: str) -> str:
    if "@" in value:
        raise ValueError(f"{value!r}: give the digest separately in base_digest / gpu_base_digest")
    if not IMAGE_REF.match(value) or len(value) > 255:
        raise ValueError(f"{value!r} is not an image reference like 'python:3.11-slim-bookworm' or "
                         "'registry.example.com/team/python:3.11'")
    return value


def check_digest(value: str | None) -> str | None:
    if value is not None and not DIGEST.match(value):
        raise ValueError(f"{value!r} is not an image digest 'sha256:<64 lowercase hex digits>'")
    return value


class DockerSpec(Section):
    """Enabled by ``+target=docker``. Defaults build a CPU image on python:3.11-slim-bookworm from a wheelhouse."""

    enabled: bool = False
    base_image: str = Field("python:3.11-slim-bookworm",
                            description="base of both stages; needs python3 with venv at /usr/local/bin or /usr/bin")
    base_digest: str | None = Field(None, description="pin the base: FROM <base_image>@<digest>")
    variant: Literal["auto", "cpu", "gpu"] = Field(
        "auto", description="gpu installs onnxruntime-gpu with NVIDIA's CUDA/cuDNN wheels; auto = gpu when "
        "optimize.providers.order lists cuda or tensorrt")
    gpu_base_image: str | None = Field(None, description="base of the GPU variant; default: base_image")
    gpu_base_digest: str | None = None
    gpu_onnxruntime: str = Field("onnxruntime-gpu[cuda,cudnn]==1.31.1",
                                 description="requirement replacing the runtime's onnxruntime pin in the GPU variant")
    python_version: str = Field("3.11", description="the base image's Python (selects the wheels)")
    platform: Literal["x86_64", "aarch64"] = "x86_64"
    glibc: str = Field("2.36", description="the base image's glibc (bookworm: 2.36): newest manylinux wheel tag")
    wheelhouse: bool = Field(True, description="ship the wheels in the context; false installs from the index "
                             "(hash-checked against requirements.lock)")
    index_url: str | None = Field(None, description="package index for wheelhouse: false (default: PyPI)")
    prune: list[str] = Field(
        ["onnxruntime/tools", "onnxruntime/transformers", "onnxruntime/quantization",
         "onnxruntime/capi/libonnxruntime.so*", "numpy/f2py", "numpy/distutils", "numpy/_core/include"],
        description="site-packages paths (globs) removed from the image: build-time tools and headers the server "
        "never imports, and onnxruntime's C/C++ API library (35 MB; the Python binding does not load it)")
    scoring: bool | None = Field(
        None, description="install pyarrow for the image's `score` entrypoint (batch scoring, see the docker "
        "generator's README); null: when the batch target (target.batch) is enabled")
    uid: int = Field(10001, ge=10000, le=2_147_483_647, description="numeric user the server runs as")
    gid: int = Field(10001, ge=10000, le=2_147_483_647)
    healthcheck_interval_s: int = Field(10, ge=1, le=3600)
    healthcheck_start_period_s: int = Field(30, ge=0, le=3600)
    registry: str | None = Field(None, description="push target prefix, e.g. 'ghcr.io/acme' (mlready image --push)")

    _image = field_validator("base_image")(classmethod(lambda cls, v: check_image(v)))
    _gpu_image = field_validator("gpu_base_image")(
        classmethod(lambda cls, v: v if v is None else check_image(v)))
    _digest = field_validator("base_digest", "gpu_base_digest")(classmethod(lambda cls, v: check_digest(v)))

    @field_validator("python_version")
    @classmethod
    def _python(cls, v: str) -> str:
        if not re.fullmatch(r"3\.(1[0-9]|[89])", v):
            raise ValueError(f"{v!r}: expected a CPython minor version like '3.11'")
        return v

    @field_validator("glibc")
    @classmethod
    def _glibc(cls, v: str) -> str:
        if not re.fullmatch(r"2\.(1[7-9]|[2-9][0-9])", v):
            raise ValueError(f"{v!r}: expected a glibc version 2.17 or newer, like '2.36'")
        return v

    @field_validator("index_url")
    @classmethod
    def _index(cls, v: str | None) -> str | None:
        if v is not None and not INDEX_URL.match(v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        if v is not None and "@" in v.split("//", 1)[1].split("/", 1)[0]:
            raise ValueError("put no credentials in index_url: pip reads them from PIP_INDEX_URL or netrc")
        return v

    @field_validator("gpu_onnxruntime")
    @classmethod
    def _requirement(cls, v: str) -> str:
        if not GPU_REQUIREMENT.fullmatch(v.strip()):
            raise ValueError(f"{v!r}: expected an onnxruntime build pinned with ==, such as "
                             "'onnxruntime-gpu[cuda,cudnn]==1.31.1'")
        return v.strip()

    @field_validator("prune")
    @classmethod
    def _prune(cls, v: list[str]) -> list[str]:
        for item in v:
            if not re.fullmatch(r"[A-Za-z0-9_*?-][A-Za-z0-9_.*?/-]*", item) or ".." in item:
                raise ValueError(f"{item!r}: expected a relative path or glob under site-packages, like 'pkg/tests'")
        return v

    @field_validator("registry")
    @classmethod
    def _registry(cls, v: str | None) -> str | None:
        if v is not None and not IMAGE_REF.match(v.rstrip("/")):
            raise ValueError(f"{v!r} is not a registry prefix like 'ghcr.io/acme'")
        return v.rstrip("/") if v else v
