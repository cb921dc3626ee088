"""The typed spec: core sections, plus the sections contributed by generators, assembled into one model.

Engine and generator code only ever see these typed objects (never an OmegaConf ``DictConfig``). The
composed config is validated in one pass so that *all* problems are reported together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

from mlready.engine import formats
from mlready.engine.plugin import Generator, Section
from pydantic import BaseModel, ConfigDict, Field, JsonValue, create_model, field_validator

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_dns1123(value: str) -> str:
    if not DNS1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lowercase letters, digits and '-', "
            "start and end alphanumeric, at most 63 characters)"
        )
    return value


class ProjectSpec(Section):
    """Who this is: names everything the build produces (image, k8s objects, experiment, dashboards)."""

    name: str = Field(description="project name, a DNS-1123 label (e.g. 'churn-model')")
    version: str = Field("0.1.0", description="project/release version, used for image tags and labels")
    description: str = ""
    source_url: str = Field("", description="where the project's code lives (OCI label, dashboards)")

    _dns = field_validator("name")(classmethod(lambda cls, v: check_dns1123(v)))


class TensorSpec(Section):
    name: str
    datatype: Literal["FP32", "FP64", "FP16", "INT64", "INT32", "INT8", "UINT8", "BOOL", "BYTES"] = "FP32"
    shape: list[int] = Field(description="-1 marks a dynamic dimension, e.g. [-1, 30]")


class ModelSpec(Section):
    """The model to deploy and how to turn it into ONNX."""

    source: str = Field(
        description="path to the model (relative to the project): .onnx, .joblib/.pkl (scikit-learn), .pt, "
        ".keras/.h5 (Keras), a TensorFlow SavedModel directory; "
        "or models:/<name>/<version>, models:/<name>@<alias>, runs:/<id>/<path>"
    )
    format: str = Field(
        formats.AUTO,
        description="an installed model format (`mlready generators` lists them), or auto: told from "
        "model.trainer or the source's suffix",
        json_schema_extra=lambda schema: schema.update(enum=list[JsonValue](formats.names())),
    )
    name: str | None = Field(None, description="served model name; defaults to project.name")
    version: int = Field(1, ge=1, description="served model version number in the model repository")
    task: Literal["auto", "classification", "regression"] = "auto"
    trainer: str | None = Field(None, description="'module:function' returning a fitted estimator")
    input_name: str = "input"
    opset: int = Field(17, ge=9, le=21)
    inputs: list[TensorSpec] | None = Field(None, description="explicit input signature (ONNX, PyTorch)")
    # tabular (issue 15): display names of a classifier's classes, in the order of its fitted classes
    class_names: list[str] | None = Field(
        None, description="display names of the classes, one per fitted class in its order (default: the "
        "classes as strings); checked against the model when it is loaded"
    )

    _format = field_validator("format")(classmethod(lambda cls, v: formats.check_name(v)))

    @field_validator("class_names")
    @classmethod
    def _class_names(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("list at least one class name, or leave it out")
        blank = [i for i, n in enumerate(v) if not n.strip()]
        if blank:
            raise ValueError(f"class name {blank[0]} is empty")
        seen: set[str] = set()
        dup = next((n for n in v if n in seen or seen.add(n)), None)  # type: ignore[func-returns-value]
        if dup is not None:
            raise ValueError(f"class name {dup!r} is listed twice")
        return v

    def served_name(self, project: ProjectSpec) -> str:
        return self.name or project.name


class DataSpec(Section):
    """Data the build evaluates the model on (paths relative to the project; CSV or Parquet)."""

    eval: str | None = Field(None, description="evaluation data with the target column")
    train: str | None = Field(None, description="training reference (cross-validation, drift)")
    sample: str | None = Field(None, description="a real-world sample evaluated with its own gates")
    target: str = "target"
    features: list[str] | None = Field(None, description="feature columns, in model input order")


class EnvSpec(Section):
    name: Literal["dev", "staging", "prod"] = "dev"
    namespace: str | None = None

    _dns = field_validator("namespace")(classmethod(lambda cls, v: v if v is None else check_dns1123(v)))


CORE_SECTIONS: dict[str, type[Section]] = {
    "project": ProjectSpec,
    "model": ModelSpec,
    "data": DataSpec,
    "env": EnvSpec,
}


class Spec:
    """The validated spec: typed core sections as attributes, generator sections through :meth:`section`."""

    project: ProjectSpec
    model: ModelSpec
    data: DataSpec
    env: EnvSpec

    def __init__(self, root: BaseModel, *, project_dir: Path, choices: dict[str, Any], overrides: list[str],
                 where: Callable[[str], str] | None = None):
        self._root = root
        self._where = where
        self.project_dir = project_dir
        self.choices = choices
        self.overrides = overrides
        for name in CORE_SECTIONS:
            setattr(self, name, getattr(root, name))

    def section(self, path: str) -> Any:
        node: Any = self._root
        for part in path.split("."):
            node = getattr(node, part)
        return node

    def where(self, key: str) -> str:
        """Where the spec sets ``key`` (``deploy.yaml:12``, ``override 'k=v'``), for messages; "" when unknown."""
        return self._where(key) if self._where is not None else ""

    def optional_section(self, path: str) -> Any | None:
        """``section(path)``, or None when no installed generator owns that section."""
        try:
            return self.section(path)
        except AttributeError:
            return None

    def to_dict(self) -> dict[str, Any]:
        return self._root.model_dump(mode="json")

    @property
    def model_name(self) -> str:
        return self.model.served_name(self.project)

    def resolve(self, path: str | Path) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.project_dir / p


def _section_tree(generators: list[Generator[Any]]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for gen in generators:
        if gen.section in CORE_SECTIONS:  # e.g. the model generator works on the core `model` section
            continue
        parts = gen.section.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise TypeError(f"generator {gen.name}: section {gen.section} nests under a leaf section")
        if parts[-1] in node:
            raise TypeError(f"generator {gen.name}: section {gen.section} is already owned")
        node[parts[-1]] = gen.config_model
    return tree


def _model_from_tree(name: str, tree: dict[str, Any]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for key, value in sorted(tree.items()):
        model = _model_from_tree(f"{name}{key.title()}", value) if isinstance(value, dict) else value
        fields[key] = (model, Field(default_factory=model))
    return create_model(name, __config__=ConfigDict(extra="forbid", frozen=True), **fields)


@cache
def _spec_model_cached(generators: tuple[Generator[Any], ...]) -> type[BaseModel]:
    tree = _section_tree(list(generators))
    clash = set(tree) & set(CORE_SECTIONS)
    if clash:
        raise TypeError(f"generator sections clash with core sections: {sorted(clash)}")
    fields: dict[str, Any] = {}
    for key, model in CORE_SECTIONS.items():
        required = key in ("project", "model")
        fields[key] = (model, ...) if required else (model, Field(default_factory=model))
    for key, value in sorted(tree.items()):
        sub = _model_from_tree(f"{key.title()}Spec", value) if isinstance(value, dict) else value
        fields[key] = (sub, Field(default_factory=sub))
    return create_model("DeploySpec", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


def spec_model(generators: list[Generator[Any]]) -> type[BaseModel]:
    """The pydantic model of the whole deploy.yaml for this set of generators."""
    return _spec_model_cached(tuple(generators))


def defaults_dict(generators: list[Generator[Any]]) -> dict[str, Any]:
    """Every key with its default value (required ones as ``???``): the base Hydra composes on top of."""
    tree = _section_tree(generators)

    def dump(model: type[BaseModel]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for fname, finfo in model.model_fields.items():
            if finfo.is_required():
                out[fname] = "???"
                continue
            value = finfo.get_default(call_default_factory=True, validated_data={})
            out[fname] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        return out

    result: dict[str, Any] = {k: dump(m) for k, m in CORE_SECTIONS.items()}

    def walk(node: dict[str, Any]) -> dict[str, Any]:
        return {k: (walk(v) if isinstance(v, dict) else v().model_dump(mode="json")) for k, v in node.items()}

    result.update(walk(tree))
    return result
