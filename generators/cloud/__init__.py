"""Cloud targets served by the same mlready image: SageMaker, Azure ML and Vertex AI (see README.md)."""

from mlready.generators.cloud.azureml import AzureMLGenerator
from mlready.generators.cloud.sagemaker import SageMakerGenerator
from mlready.generators.cloud.vertex import VertexGenerator

__all__ = ["AzureMLGenerator", "SageMakerGenerator", "VertexGenerator"]
