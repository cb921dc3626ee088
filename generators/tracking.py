"""The ``tracking`` section: MLflow tracking and Model Registry settings.

Tracking is not a build step: it adds no artifacts. After a successful build the post-build hook
:class:`mlready.engine.lifecycle.tracking.MlflowHook` records the build as an MLflow run (and registers the
optimized model). This generator only owns the config section, so ``deploy.yaml`` and overrides such as
``tracking.enabled=false`` are validated with everything else.
"""

from __future__ import annotations

from mlready.engine.plugin import Generator, Section
from pydantic import Field


class TrackingSpec(Section):
    enabled: bool = Field(True, description="record every build as an MLflow run (env MLREADY_TRACKING=0 too)")
    uri: str | None = Field(
        None,
        description="MLflow tracking URI; default: the embedded store sqlite:///<project>/.mlready/mlflow.db "
        "(MLFLOW_TRACKING_URI in the environment wins over both)",
    )
    experiment: str | None = Field(None, description="experiment name; default: project.name")
    # (``register`` would shadow pydantic's ABC ``register`` classmethod)
    register_model: bool = Field(True, description="register the optimized ONNX model as a new model version")
    model_name: str | None = Field(None, description="registered model name; default: the served model name")
    timeout_seconds: float = Field(
        10.0, gt=0, le=600, description="how long to wait for a tracking server before failing"
    )


class TrackingGenerator(Generator[TrackingSpec]):
    name = "tracking"
    group = None
    section = "tracking"
    config_model = TrackingSpec
    description = "MLflow tracking and Model Registry settings (a post-build hook; writes no artifacts)"

    def steps(self, spec):  # noqa: ARG002 - the interface passes the spec
        return []
