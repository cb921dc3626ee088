"""What other renderings of the bundle build from (the Helm chart, ``generators/helm``): the base objects, the
objects an environment's overlay adds, the overlay's own settings, and the CPU-limit annotation the overlay
patches (the autoscalers are in ``_shared/k8s_autoscaling.py``). The one module of this package another
generator may import (see the import contract in pyproject.toml): keep these names and signatures stable, or
adapt ``generators/helm`` in the same commit.
"""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.k8s_context import BundleContext
from mlready.generators._shared.pod import cpu_limit_skip
from mlready.generators.k8s.bundle import base_files
from mlready.generators.k8s.kustomize import overlay

__all__ = ["base_files", "cpu_limit_skip", "environment_objects", "overlay_settings"]


def overlay_settings(ctx: BundleContext, env: str, namespace: str) -> dict[str, Any]:
    """The environment's kustomization (namespace, labels, images, replicas, patches) as data."""
    return overlay(ctx, env, namespace)["kustomization.yaml"]


def environment_objects(ctx: BundleContext, env: str, namespace: str) -> dict[str, dict[str, Any]]:
    """The objects only this environment's overlay has (file name -> object), e.g. ``hpa.yaml``."""
    return {name: doc for name, doc in overlay(ctx, env, namespace).items() if name != "kustomization.yaml"}
