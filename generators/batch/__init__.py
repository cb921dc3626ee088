"""The batch-scoring target (``+target=batch``): see README.md."""

from mlready.generators.batch.generator import BatchGenerator

__all__ = ["BatchGenerator"]
