"""The DVC pipeline (``+pipeline=dvc``): ``pipeline/dvc.yaml`` with train -> build stages (see stages.py).

Copy it to the project root once (``cp build/pipeline/dvc.yaml .``) and commit it; from then on
``dvc repro`` retrains when the training inputs change and reruns ``mlready build`` when the model, the data,
the spec or the local config groups change.
"""

from __future__ import annotations

from mlready.engine.plugin import Artifact, Generator, Step
from mlready.generators._shared.facts import optimization_active
from mlready.generators.dvc.stages import DvcSpec, pipeline

PATH, KIND = "pipeline/dvc.yaml", "dvc-pipeline"


class DvcGenerator(Generator[DvcSpec]):
    name = "dvc"
    group = "pipeline"
    section = "pipeline.dvc"
    config_model = DvcSpec
    description = "DVC pipeline: train -> mlready build stages with deps, params, outs and metrics"

    def steps(self, spec) -> list[Step]:
        cfg: DvcSpec = self.config(spec)
        data = [v for v in (spec.data.train, spec.data.eval, spec.data.sample) if v]
        inputs = {
            "overrides": list(spec.overrides),
            "model_source": spec.model.source,
            "data_files": data,
            "has_local_conf": (spec.project_dir / "conf").is_dir(),
            "optimized": optimization_active(spec),
        }

        def run(ctx) -> list[Artifact]:
            doc = pipeline(cfg, **inputs)
            header = ctx.header("#") + "# copy to the project root (cp build/pipeline/dvc.yaml .), then: dvc repro\n"
            return [Artifact.yaml(PATH, KIND, doc, header=header)]

        return [Step(id="pipeline.dvc", run=run, config={"dvc": cfg, **inputs},
                     description="write the DVC pipeline (dvc.yaml)")]
