"""The chart's values: one pydantic model, built from the spec's own section models, gives the values files
(``values.yaml`` = the kustomize base, ``values-<env>.yaml`` = each overlay) and ``values.schema.json``, so
``helm install`` checks a value with the rules ``deploy.yaml`` is checked with.

Values use the spec's vocabulary (``resources.cpu_limit``, ``autoscaling.min_replicas``), not the
Kubernetes object's, and are derived from the overlay's own settings (images, replica counts) and the
environment's section, so they say what the overlay says.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from mlready.engine.plugin import Section
from mlready.generators._shared.facts import REPOSITORY
from mlready.generators._shared.k8s_context import TRACK_LABEL, BundleContext
from mlready.generators._shared.k8s_spec import ENVIRONMENTS, AutoscalingSpec, ResourcesSpec
from pydantic import Field, create_model

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Kubernetes' own quantity pattern (apimachinery's OpenAPI for resource.Quantity), without a sign: the spec
# refuses quantities <= 0
QUANTITY = (r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
            r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")
TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
DIGEST = r"^sha256:[0-9a-f]{64}$"


class ImageValues(Section):
    """The image of the version being built (the overlays' ``images:``): ``repository:tag[@digest]``."""

    repository: str = Field(max_length=255, pattern=REPOSITORY.pattern)
    tag: str = Field(pattern=TAG)
    digest: str | None = Field(None, pattern=DIGEST, description="pins the image when known (mlready image)")


def _values_model(ctx: BundleContext, image: bool, tracks: tuple[str, ...]) -> type[Section]:
    fields: dict[str, Any] = {
        "environment": (Literal["dev", "staging", "prod"] | None, Field(
            None, description="the mlready.io/environment label; null: none (the kustomize base)")),
    }
    if image:
        fields["image"] = (ImageValues, Field(description="image of the version being built"))
    fields |= {
        "replicas": (int | None, Field(None, ge=0, description=(
            f"replicas of Deployment {ctx.name}; ignored when autoscaling.enabled (the HPA owns the count)"))),
        "resources": (ResourcesSpec, Field(description="the server container's resources, as in target.k8s")),
        "autoscaling": (AutoscalingSpec, Field(description=(
            "as in target.k8s: enabled writes the autoscaler (an HPA from these values; a KEDA object as built "
            "for the environment) and drops replicas"))),
    }
    if tracks:
        per_track: dict[str, Any] = {t: (int | None, Field(None, ge=0, description=f"replicas of {ctx.name}-{t}"))
                                     for t in tracks}
        track_model = create_model("TrackReplicas", __base__=Section, **per_track)
        fields["track_replicas"] = (track_model, Field(description="replicas of the other tracks' Deployments"))
    model: type[Section] = create_model("ChartValues", __base__=Section, **fields)
    return model


class ChartValues:
    """The values model of one chart and every values file's content."""

    def __init__(self, ctx: BundleContext, base: dict[str, dict[str, Any]], overlays: dict[str, dict[str, Any]]):
        """``base``: file -> object of the kustomize base; ``overlays``: env -> its kustomization."""
        self.ctx = ctx
        deployments = [d for d in base.values() if d["kind"] == "Deployment"]
        self.tracks: dict[str, str] = {d["metadata"]["name"]: d["metadata"]["labels"].get(TRACK_LABEL, "stable")
                                       for d in deployments if d["metadata"]["name"] != ctx.name}
        self.image = any("images" in k for k in overlays.values())
        self.model = _values_model(ctx, self.image, tuple(sorted(set(self.tracks.values()))))
        self.files: dict[str | None, dict[str, Any]] = {None: self._base()}
        for env in ENVIRONMENTS:
            self.files[env] = self._overlay(env, overlays[env])

    def _base(self) -> dict[str, Any]:
        dev = self.ctx.cfg.environments.dev
        values: dict[str, Any] = {
            "environment": None,
            "replicas": None,
            "resources": dev.resources,
            "autoscaling": dev.autoscaling.model_copy(update={"enabled": False}),
        }
        if self.image:
            values["image"] = ImageValues(repository=self.ctx.image.repository, tag=self.ctx.image.tag)
        if self.tracks:
            values["track_replicas"] = {t: None for t in sorted(set(self.tracks.values()))}
        return self._dump(values)

    def _overlay(self, env: str, k: dict[str, Any]) -> dict[str, Any]:
        e = self.ctx.cfg.environments.get(env)
        counts = {r["name"]: r["count"] for r in k.get("replicas", [])}
        values: dict[str, Any] = {
            "environment": env,
            "replicas": counts.get(self.ctx.name),
            "resources": e.resources,
            "autoscaling": e.autoscaling,
        }
        if self.image:
            (image,) = k["images"]
            values["image"] = ImageValues(repository=image["name"], tag=image["newTag"],
                                          digest=str(image["digest"]) if image.get("digest") else None)
        if self.tracks:
            values["track_replicas"] = {self.tracks[n]: c for n, c in counts.items() if n in self.tracks}
        return self._dump(values)

    def _dump(self, values: dict[str, Any]) -> dict[str, Any]:
        """Checked by the model (a value the chart's own schema would refuse is a bug here), in field order."""
        dumped: dict[str, Any] = self.model.model_validate(values).model_dump(mode="json")
        return dumped

    def schema(self) -> dict[str, Any]:
        """``values.schema.json``: the model's JSON schema, plus the quantity pattern the spec checks in code."""
        schema: dict[str, Any] = {"$schema": SCHEMA_DIALECT, **self.model.model_json_schema()}
        quantities = ResourcesSpec.__pydantic_decorators__.field_validators["_quantities"].info.fields
        props = schema["$defs"]["ResourcesSpec"]["properties"]
        for name in quantities:
            for branch in props[name].get("anyOf", [props[name]]):
                if branch.get("type") == "string":
                    branch["pattern"] = QUANTITY
        return schema


def schema_text(values: ChartValues, header: str) -> str:
    """The schema as JSON, the build header as its ``$comment`` (JSON has no comments)."""
    comment = " ".join(line.removeprefix("#").strip() for line in header.strip().splitlines())
    return json.dumps({"$comment": comment, **values.schema()}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
