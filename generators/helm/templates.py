"""The chart's templates: the kustomize base's objects (from the k8s generator's builders, through its seam),
with a :class:`~mlready.generators.helm.holes.Hole` wherever an overlay changes them, so ``-f values-<env>.yaml``
renders what ``kubectl kustomize overlays/<env>`` renders:

- every object: the release namespace (overlay ``namespace:``), the environment label (overlay ``labels:``,
  also on pod templates, never on selectors) and Helm's ``helm.sh/chart`` label;
- every Deployment: the server container's resources and the no-CPU-limit checkov reason (the overlay's
  resources patch), its replicas (overlay ``replicas:``), the image where the overlays set ``images:``;
- the HPA, from the k8s builder with values for its inputs; any other object an overlay adds is rendered
  as built for that environment only.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from mlready.generators._shared.k8s_autoscaling import autoscaler, hpa
from mlready.generators._shared.k8s_context import ENV_LABEL, TRACK_LABEL, BundleContext
from mlready.generators._shared.k8s_spec import ENVIRONMENTS, AutoscalingSpec, ResourcesSpec
from mlready.generators._shared.pod import CONTAINER, resources
from mlready.generators.helm.holes import Hole
from mlready.generators.helm.sentinels import templated
from mlready.generators.k8s import seam

HPA = "hpa.yaml"
NAMESPACE = Hole(".Release.Namespace")
ENVIRONMENT = Hole(".Values.environment", when=".Values.environment")
UNSET = 'kindIs "invalid" {}'  # a value that is null or absent (Helm drops null keys when merging values)
IMAGE = "include \"mlready.image\" ."
HELPERS = """{{/* the image of the version being built, as kustomize's images: writes it */}}
{{- define "mlready.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- with .Values.image.digest }}@{{ . }}{{ end -}}
{{- end -}}
"""


def _common(doc: dict[str, Any], chart_label: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    meta = doc["metadata"]
    if "namespace" in meta:
        meta["namespace"] = NAMESPACE
    meta["labels"] = {**meta.get("labels", {}), ENV_LABEL: ENVIRONMENT, "helm.sh/chart": chart_label}
    return doc


def _deployment(doc: dict[str, Any], ctx: BundleContext, image: bool, track: str | None) -> None:
    patch = templated(lambda v: resources(
        v.section(ResourcesSpec, ".Values.resources", cpu_limit=".Values.resources.cpu_limit")))
    ((skip_key, skip_prefix),) = seam.cpu_limit_skip(ResourcesSpec(cpu_limit=None, cpu_limit_off_reason="")).items()
    annotations = doc["metadata"].setdefault("annotations", {})
    annotations[skip_key] = Hole(f"printf \"%s%s\" {json.dumps(skip_prefix)} .Values.resources.cpu_limit_off_reason",
                                 when="not .Values.resources.cpu_limit")
    spec = doc["spec"]
    if track is None:
        spec["replicas"] = Hole(".Values.replicas",
                                when=f"and (not .Values.autoscaling.enabled) (not ({UNSET.format('.Values.replicas')}))")
    else:
        count = f'(index .Values.track_replicas "{track}")'
        spec["replicas"] = Hole(count, when=f"not ({UNSET.format(count)})")
    pod = spec["template"]
    pod["metadata"]["labels"][ENV_LABEL] = ENVIRONMENT
    for c in pod["spec"]["containers"]:
        if c["name"] == CONTAINER:
            # a strategic merge, as the overlay's patch: what the patch does not set (a GPU limit) stays
            c["resources"] = {part: {**c["resources"].get(part, {}), **values}
                              for part, values in patch.items()}
            if image:
                c["image"] = Hole(IMAGE)


def _hpa(ctx: BundleContext) -> dict[str, Any]:
    doc: dict[str, Any] = templated(lambda v: hpa(ctx, v.section(AutoscalingSpec, ".Values.autoscaling"), "x"))
    doc["metadata"]["namespace"] = NAMESPACE
    return doc


HPA_CHECK = ('{{- if gt (int .Values.autoscaling.min_replicas) (int .Values.autoscaling.max_replicas) }}\n'
             '{{- fail (printf "autoscaling.min_replicas (%v) is above autoscaling.max_replicas (%v)" '
             '.Values.autoscaling.min_replicas .Values.autoscaling.max_replicas) }}\n{{- end }}\n')


def chart_templates(
    ctx: BundleContext, base: dict[str, dict[str, Any]], env_objects: dict[str, dict[str, dict[str, Any]]],
    namespaces: dict[str, str], chart_label: str, image: bool,
) -> list[tuple[str, dict[str, Any], str | None, str]]:
    """(template file name, object with holes, condition for the whole object or None, checks run where it
    is rendered)."""
    out: list[tuple[str, dict[str, Any], str | None, str]] = []
    for name, doc in base.items():
        t = _common(doc, chart_label)
        if t["kind"] == "Deployment":
            stable = t["metadata"]["name"] == ctx.name
            track = None if stable else t["metadata"]["labels"][TRACK_LABEL]
            _deployment(t, ctx, image, track)
        out.append((name, t, None, ""))
    scaler, _ = autoscaler(ctx, AutoscalingSpec(), "x")  # the file of the overlays' autoscaler
    if scaler == HPA:  # from values; KEDA's objects (which own their HPA) are rendered as built, below
        out.append((HPA, _common(_hpa(ctx), chart_label), ".Values.autoscaling.enabled", HPA_CHECK))
    for env in ENVIRONMENTS:
        for name, doc in env_objects[env].items():
            if name == HPA:
                continue
            when = f'eq .Values.environment "{env}"'
            if name == scaler:
                when = f"and ({when}) .Values.autoscaling.enabled"
            checks = namespace_check(doc, namespaces[env])
            out.append((f"{env}-{name}", _common(doc, chart_label), when, checks))
    return out


def namespace_check(doc: dict[str, Any], namespace: str) -> str:
    """For an object built for one environment that names its namespace beyond its metadata (a KEDA
    trigger's query selects ``namespace="<ns>"``): fail the render in any other namespace, instead of
    installing an autoscaler that watches nothing."""
    rest = {k: v for k, v in doc.items() if k != "metadata"}
    if namespace not in json.dumps(rest):
        return ""
    return (f'{{{{- if ne .Release.Namespace {json.dumps(namespace)} }}}}\n'
            f'{{{{- fail (printf "this object was built for namespace {namespace}, not %s: install there, or '
            f'rebuild with target.k8s.environments.<env>.namespace" .Release.Namespace) }}}}\n{{{{- end }}}}\n')
