"""Helpers: the chart rendered by a real Helm engine (helm-python-sdk: Helm v4's Go SDK as a library) and
compared with the kustomize bundle of the same build (``kubectl kustomize``)."""

from __future__ import annotations

from pathlib import Path

import helm_python as helm
import yaml

from tests.k8s.helpers import render as kustomize

HELM_LABEL = "helm.sh/chart"  # the one label the chart adds to the bundle's objects (Helm's convention)
ENVS = ("dev", "staging", "prod")


def chart_dir(out: Path) -> Path:
    (chart,) = (out / "helm").iterdir()
    return chart


def values_file(chart: Path, env: str | None) -> dict | None:
    """The values of ``-f values-<env>.yaml`` (None: the chart's defaults alone)."""
    return yaml.safe_load((chart / f"values-{env}.yaml").read_text()) if env else None


def namespace(out: Path, env: str | None) -> str:
    """The namespace the overlay sets (the base's objects carry the project's name)."""
    if env is None:
        return _doc(out / "k8s/base/deployment.yaml")["metadata"]["namespace"]
    return _doc(out / "k8s/overlays" / env / "kustomization.yaml")["namespace"]


def _doc(path: Path) -> dict:
    (doc,) = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return doc


def render(chart: Path, values: dict | None, ns: str, release: str = "release") -> dict[str, str]:
    """``helm template``: template path -> rendered text (NOTES.txt included)."""
    with helm.Chart.load(chart) as c:
        return c.render(values, name=release, namespace=ns, is_install=True)


def objects(rendered: dict[str, str]) -> list[dict]:
    docs = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def without_helm_labels(docs: list[dict]) -> list[dict]:
    for d in docs:
        d["metadata"].get("labels", {}).pop(HELM_LABEL, None)
    return docs


def keyed(docs: list[dict]) -> dict[tuple[str, str], dict]:
    out = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert len(out) == len(docs), "two objects of one kind share a name"
    return out


def overlay_objects(out: Path, env: str | None) -> list[dict]:
    return kustomize(out / "k8s" / ("base" if env is None else f"overlays/{env}"))
