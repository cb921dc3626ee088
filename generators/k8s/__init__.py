"""The Kubernetes target (``+target=k8s``): see README.md."""

from mlready.generators.k8s.generator import K8sGenerator

__all__ = ["K8sGenerator"]
