"""The ``readiness`` generator: evaluate the served ONNX model and gate the build on it (``model.readiness``).

See README.md in this folder for the checks, the gate syntax and the report's shape.
"""

from __future__ import annotations

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Generator, Step
from mlready.generators._shared.gates import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    describe_catalogue,
    eval_catalogue,
    parse_gate,
    sample_catalogue,
)
from mlready.generators.readiness.config import ReadinessSpec

STEP_ID = "model.readiness"


def _base_metric(metric: str) -> str:
    return metric.split(".")[1] if metric.startswith("cv.") else metric


class ReadinessGenerator(Generator[ReadinessSpec]):
    name = "readiness"
    group = None
    section = "readiness"
    config_model = ReadinessSpec
    description = "Evaluate the served ONNX model, cross-validate, check parity and gates (model.readiness)"

    def enabled(self, spec) -> bool:
        return bool(self.config(spec).enabled)

    def validate(self, spec) -> list[SpecProblem]:
        cfg: ReadinessSpec = self.config(spec)
        task = spec.model.task
        problems = []
        other = {"classification": REGRESSION_METRICS, "regression": CLASSIFICATION_METRICS}.get(task, ())
        for key, gates, catalogue in (
            ("readiness.gates", cfg.gates, eval_catalogue),
            ("readiness.sample.gates", cfg.sample.gates, sample_catalogue),
        ):
            for i, text in enumerate(gates):
                gate = parse_gate(text, catalogue())
                where = f"{key}.{i}"
                if _base_metric(gate.metric) in other:
                    problems.append(
                        SpecProblem(
                            "",
                            where,
                            (
                                f"{gate.text!r}: {_base_metric(gate.metric)} is not a {task} metric; valid metrics: "
                                f"{describe_catalogue(catalogue(task))}"
                            ),
                        )
                    )
                if gate.metric.startswith("cv.") and cfg.cv.folds == 0:
                    problems.append(
                        SpecProblem(
                            "", where, (f"{gate.text!r} needs cross-validation, but readiness.cv.folds is 0")
                        )
                    )
                if gate.champion and not cfg.compare_to:
                    problems.append(SpecProblem("", where, f"{gate.text!r} compares with the champion: set "
                                                "readiness.compare_to (e.g. models:/<name>@champion)"))
                if gate.metric.startswith("parity.") and not cfg.parity:
                    problems.append(SpecProblem("", where, f"{gate.text!r} needs readiness.parity: true"))
        if cfg.sample.gates and not spec.data.sample:
            problems.append(
                SpecProblem("", "readiness.sample.gates", "sample gates need data.sample (CSV or Parquet)")
            )
        if cfg.cv.data != "auto" and not getattr(spec.data, cfg.cv.data):
            problems.append(
                SpecProblem(
                    "", "readiness.cv.data", f"cross-validation on {cfg.cv.data!r} needs data.{cfg.cv.data}"
                )
            )
        return problems

    def steps(self, spec) -> list[Step]:
        from mlready.engine.tools import versions
        from mlready.generators._shared.facts import served_model_step, source_reads, trainer_inputs

        inputs = [spec.resolve(p) for p in (spec.data.eval, spec.data.train, spec.data.sample) if p]
        inputs.extend(trainer_inputs(spec))  # the trainer is refitted per fold: its code shapes the CV figures
        config = {
            "readiness": self.config(spec).model_dump(mode="json"),
            "data": spec.data.model_dump(mode="json"),
            "model": spec.model.model_dump(mode="json"),
        }
        tools = versions("onnxruntime", "scikit-learn", "numpy")  # from metadata: planning imports nothing
        return [
            Step(
                id=STEP_ID,
                run="mlready.generators.readiness.step:run",
                deps=(served_model_step(spec),),
                config=config,
                reads=("data", "model", "project.name", *source_reads(spec),
                       *(("tracking",) if self.config(spec).compare_to else ())),
                inputs=tuple(inputs),
                tools=tools,
                header=False,
                description="evaluate the served model, cross-validate, check parity and the gates",
                # the champion's alias moves (mlready promote): its model is looked up on every build
                cacheable=not self.config(spec).compare_to,
            )
        ]
