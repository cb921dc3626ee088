"""Assemble the chart: path under ``helm/<chart>/`` -> file text. Pure; the step turns it into artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlready.engine.serialize import dump_yaml
from mlready.generators._shared.k8s_context import BundleContext, env_namespace
from mlready.generators._shared.k8s_spec import ENVIRONMENTS
from mlready.generators.helm.holes import template
from mlready.generators.helm.notes import notes
from mlready.generators.helm.templates import HELPERS, chart_templates
from mlready.generators.helm.values import ChartValues, schema_text
from mlready.generators.k8s import seam

KUBE_VERSION = ">=1.29.0-0"  # the oldest Kubernetes the bundle is validated against (tests/k8s)


@dataclass(frozen=True)
class ChartMeta:
    name: str
    version: str
    app_version: str
    description: str
    source_url: str


def _chart_yaml(meta: ChartMeta) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v2",
        "name": meta.name,
        "description": meta.description,
        "type": "application",
        "version": meta.version,
        "appVersion": meta.app_version,
        "kubeVersion": KUBE_VERSION,
    }
    if meta.source_url:
        doc["home"] = meta.source_url
        doc["sources"] = [meta.source_url]
    doc["annotations"] = {"mlready.io/generated-by": "mlready"}
    return doc


def _install_hint(meta: ChartMeta, env: str | None, namespace: str) -> str:
    values = f" -f build/helm/{meta.name}/values-{env}.yaml" if env else ""
    what = f"the {env} overlay (k8s/overlays/{env})" if env else "the kustomize base (k8s/base)"
    return (f"# These values reproduce {what}. Install with:\n"
            f"#   helm upgrade --install {meta.name} build/helm/{meta.name} -n {namespace} --create-namespace"
            f"{values}\n")


def chart_files(
    ctx: BundleContext, meta: ChartMeta, runtime_config: str, rule_groups: list[dict[str, Any]],
    signature: dict[str, Any], header: str, current_env: str, current_ns: str | None,
) -> dict[str, str]:
    base = seam.base_files(ctx, runtime_config, rule_groups)
    namespaces = {env: env_namespace(ctx, env, current_env, current_ns) for env in ENVIRONMENTS}
    settings = {env: seam.overlay_settings(ctx, env, ns) for env, ns in namespaces.items()}
    env_objects = {env: seam.environment_objects(ctx, env, ns) for env, ns in namespaces.items()}
    values = ChartValues(ctx, base, settings)
    # Helm's convention for helm.sh/chart, kept a valid label value (63 characters, alphanumeric at the end)
    label = f"{meta.name}-{meta.version}".replace("+", "_")[:63].rstrip("-_.")
    files = {
        "Chart.yaml": dump_yaml(_chart_yaml(meta), header=header),
        "values.schema.json": schema_text(values, header),
        "values.yaml": dump_yaml(values.files[None], header=header + _install_hint(meta, None, ctx.namespace)),
    }
    for env in ENVIRONMENTS:
        files[f"values-{env}.yaml"] = dump_yaml(
            values.files[env], header=header + _install_hint(meta, env, namespaces[env]))
    files["templates/_helpers.tpl"] = "{{/*\n" + header.replace("*/", "* /") + "*/}}\n" + HELPERS
    for name, doc, when, checks in chart_templates(ctx, base, env_objects, namespaces, label, values.image):
        files[f"templates/{name}"] = template(doc, header, when, checks)
    files["templates/NOTES.txt"] = notes(ctx, signature, header)
    return {f"helm/{meta.name}/{path}": text for path, text in files.items()}
