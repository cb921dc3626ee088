"""The KServe target (``+target=kserve``): see README.md."""

from mlready.generators.kserve.generator import KServeGenerator

__all__ = ["KServeGenerator"]
