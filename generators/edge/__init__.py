"""``+target=edge``: a bundle for low-power devices (see README.md and :mod:`.bundle` for the layout)."""

from __future__ import annotations

from typing import Any

from mlready.engine.plugin import Generator, Step
from mlready.generators.edge.spec import EdgeSpec


class EdgeGenerator(Generator[EdgeSpec]):
    name = "edge"
    group = "target"
    section = "target.edge"
    config_model = EdgeSpec
    description = "Edge bundle: ORT format model (int8 within budget), reduced-build operator config, runner"

    def steps(self, spec: Any) -> list[Step]:
        from importlib.resources import files

        from mlready.engine.tools import versions
        from mlready.generators._shared.facts import served_model_step

        cfg = self.config(spec)
        model_step = served_model_step(spec)
        inputs = (spec.resolve(spec.data.eval),) if spec.data.eval else ()
        return [Step(
            id="edge.bundle",
            run="mlready.generators.edge.bundle:build_bundle",
            deps=(model_step,),
            config={"cfg": cfg, "data": {"eval": spec.data.eval, "target": spec.data.target,
                                         "features": spec.data.features}},
            reads=("data.eval", "data.features", "data.target"),
            inputs=(*inputs, str(files("mlready.generators.edge") / "runner.py")),
            tools=versions("onnx", "onnxruntime", "numpy"),
            description="edge bundle: ORT model, operator config, runner, size report",
        )]
