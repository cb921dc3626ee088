"""The ``readiness`` section of deploy.yaml.

```yaml
readiness:
  gates: ["f1 >= 0.95", "cv.f1.std <= 0.02", "parity.agreement >= 0.999"]
  cv: {folds: 5, seed: 0, data: auto}    # auto: data.train when set, else data.eval; folds 0 = no CV
  parity: true                           # compare the source model with its ONNX conversion
  sample:                                # data.sample, the real-world sample
    gates: ["accuracy >= 0.9", "drift.psi.max <= 0.25"]
  drift: {bins: 10}
  compare_to: models:/fraud@champion     # the champion: gates like 'f1 >= champion.f1 - 0.005'
```

Gates are parsed here, at spec time: a bad one is a spec error naming its key and listing valid metrics.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from mlready.engine.plugin import Section
from mlready.generators._shared.gates import eval_catalogue, parse_gate, sample_catalogue
from pydantic import AfterValidator, Field, field_validator


def _eval_gate(text: str) -> str:
    return parse_gate(text, eval_catalogue()).text


def _sample_gate(text: str) -> str:
    gate = parse_gate(text, sample_catalogue())
    if gate.champion:
        raise ValueError(f"{gate.text!r}: the champion is scored on the evaluation data: move this gate to "
                         "readiness.gates")
    return gate.text


#: a registered model's version or alias (the champion is a registered ONNX model)
COMPARE_TO = re.compile(r"^models:/[^/@'\"\s]+(/\d+|@[A-Za-z0-9_-]+)$")


def _compare_to(uri: str | None) -> str | None:
    if uri is not None and not COMPARE_TO.match(uri):
        raise ValueError(f"{uri!r} is not a registered model: write models:/<name>@<alias> (e.g. "
                         "models:/fraud@champion) or models:/<name>/<version>")
    return uri


EvalGate = Annotated[str, AfterValidator(_eval_gate)]
SampleGate = Annotated[str, AfterValidator(_sample_gate)]


class CrossValidationSpec(Section):
    folds: int = Field(5, ge=0, le=50, description="number of folds; 0 turns cross-validation off")
    seed: int = Field(0, description="shuffle seed of the fold split")
    data: Literal["auto", "train", "eval"] = Field(
        "auto", description="rows to cross-validate on: auto = data.train when set, else data.eval"
    )

    @field_validator("folds")
    @classmethod
    def _folds(cls, v: int) -> int:
        if v == 1:
            raise ValueError("cross-validation needs at least 2 folds (0 turns it off)")
        return v


class SampleSpec(Section):
    gates: list[SampleGate] = Field(default_factory=list, description="gates on the data.sample evaluation")


class DriftSpec(Section):
    bins: int = Field(10, ge=2, le=100, description="quantile bins of the PSI drift score")


class ReadinessSpec(Section):
    enabled: bool = Field(True, description="evaluate the served model and check the gates")
    gates: list[EvalGate] = Field(default_factory=list, description="e.g. 'f1 >= 0.95', 'cv.f1.std <= 0.02'")
    cv: CrossValidationSpec = Field(default_factory=CrossValidationSpec)
    parity: bool = Field(True, description="compare the source model's predictions with the ONNX model's")
    sample: SampleSpec = Field(default_factory=SampleSpec)
    drift: DriftSpec = Field(default_factory=DriftSpec)
    compare_to: Annotated[str | None, AfterValidator(_compare_to)] = Field(
        None, description="the champion to compare with: models:/<name>@<alias> (or /<version>) in the project's "
        "MLflow registry; gates may then read 'f1 >= champion.f1 - 0.005'"
    )
