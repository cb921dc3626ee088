"""The ``optimize`` generator: the ``model.optimize`` step (see README.md).

Always on (``group`` None); it has work only when ``optimize.active`` (a pass or ``auto`` configured).
"""

from __future__ import annotations

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Generator, Step
from mlready.generators.model.ids import INGEST_STEP
from mlready.generators.optimize.config import OptimizeSpec
from mlready.generators.optimize.ids import OPTIMIZE_STEP


class OptimizeGenerator(Generator[OptimizeSpec]):
    name = "optimize"
    group = None
    section = "optimize"
    config_model = OptimizeSpec
    description = "Optimize the model (quantization, fp16, pruning, distillation), measure and pick (model.optimize)"

    def validate(self, spec) -> list[SpecProblem]:
        cfg = self.config(spec)
        if cfg.active and not spec.data.eval:
            return [SpecProblem("", "data.eval", "optimization measures an accuracy budget: set data.eval")]
        return []

    def steps(self, spec) -> list[Step]:
        cfg = self.config(spec)
        if not cfg.active:
            return []
        from mlready.engine.tools import versions

        inputs = tuple(spec.resolve(p) for p in (spec.data.eval, spec.data.train, spec.data.sample) if p)
        return [
            Step(
                id=OPTIMIZE_STEP,
                run="mlready.generators.optimize.step:optimize",
                deps=(INGEST_STEP,),
                config={"optimize": cfg, "data": spec.data.model_dump(mode="json")},
                reads=("data",),
                inputs=inputs,
                tools=versions("onnx", "onnxruntime", "onnxconverter-common", "skl2onnx", "scikit-learn", "numpy"),
                header=False,
                description="build optimized candidates, measure them, serve the best within the budget",
            )
        ]


__all__ = ["OptimizeGenerator", "OptimizeSpec"]
