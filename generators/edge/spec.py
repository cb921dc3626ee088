"""The ``target.edge`` section: the edge bundle (ORT format model, reduced-build operator config, runner)."""

from __future__ import annotations

from typing import Literal

from mlready.engine.plugin import Section
from pydantic import Field


class EdgeSpec(Section):
    """Enabled by ``+target=edge``."""

    enabled: bool = False
    int8: Literal["auto", "off"] = Field(
        "auto", description="auto: ship the int8 (dynamic quantization) model when it is within the budget")
    max_accuracy_drop: float = Field(0.005, ge=0, le=1, description="largest drop of accuracy (R² for regression) "
                                     "of the int8 model against fp32 on the evaluation data")
    min_label_agreement: float = Field(0.99, ge=0, le=1, description="classification: share of rows whose int8 "
                                       "label equals the fp32 label")
    optimization: Literal["Fixed", "Runtime"] = Field(
        "Fixed", description="ORT format optimization style: Fixed bakes the graph optimizations for this "
        "hardware-independent build; Runtime keeps them to be applied on the device")
    type_reduction: bool = Field(True, description="also record the operators' types: a smaller reduced build")
    size_goal: float = Field(0.30, gt=0, description="bundle (model + runner) size over the fp32 ONNX size "
                             "to aim for; the report says whether it is met")
