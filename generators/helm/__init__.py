"""The Helm chart target (``+target=helm``): see README.md."""

from mlready.generators.helm.generator import HelmGenerator

__all__ = ["HelmGenerator"]
