"""The ``hello`` target: ``+target=hello`` writes ``hello/greeting.txt`` greeting the project."""

from __future__ import annotations

from mlready.engine.plugin import Artifact, Generator, Section, Step, StepContext
from pydantic import Field


class HelloSpec(Section):
    """``target.hello``: switched on by ``+target=hello``."""

    enabled: bool = False
    greeting: str = Field("hello", min_length=1, description="the word the greeting starts with")


class HelloGenerator(Generator):
    name = "hello"
    group = "target"
    section = "target.hello"
    config_model = HelloSpec
    description = "Test plugin: a greeting file (hello/greeting.txt)"

    def steps(self, spec) -> list[Step]:
        text = f"{spec.section(self.section).greeting}, {spec.project.name}!\n"

        def greet(ctx: StepContext) -> list[Artifact]:
            return [Artifact.text("hello/greeting.txt", "hello-greeting", text)]

        return [Step(id="hello.greeting", run=greet, config={"text": text}, description="write the greeting")]
