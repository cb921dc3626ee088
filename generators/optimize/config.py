"""The ``optimize`` section of deploy.yaml: which candidates to build, the budget, how to measure and pick.

``optimize=none`` (the default) leaves every pass off: :attr:`OptimizeSpec.active` is false and the model
generator serves the converted model itself. ``optimize=auto`` builds every pass that applies to the model;
``optimize=int8`` (and the other option files under ``conf/optimize/``) name their candidates explicitly.
A candidate is a chain of pass names joined by ``+`` (``structured_prune+int8_dynamic``).
"""

from __future__ import annotations

from typing import Literal

from mlready.engine.plugin import Section
from mlready.generators._shared.quantize import Int8DynamicSpec
from mlready.generators.optimize.providers import ProvidersSpec
from pydantic import Field, field_validator

PASS_NAMES = (
    "graph",
    "int8_dynamic",
    "int8_static",
    "fp16",
    "prune",
    "structured_prune",
    "distill_mlp",
    "distill_trees",
)

#: what ``optimize=auto`` builds: every single pass, plus the chains that often pay off together
AUTO_CANDIDATES = (*PASS_NAMES, "structured_prune+int8_dynamic")


class GraphSpec(Section):
    level: Literal["basic", "extended", "all"] = Field(
        "basic", description="onnxruntime offline graph optimization level; 'basic' stays portable across "
        "execution providers, 'extended'/'all' may add CPU-only fused operators"
    )


class Int8StaticSpec(Section):
    method: Literal["minmax", "entropy", "percentile"] = "minmax"
    per_channel: bool = False
    reduce_range: bool = False
    activation_type: Literal["qint8", "quint8"] = "quint8"
    weight_type: Literal["qint8", "quint8"] = "qint8"
    calibration_rows: int = Field(256, ge=8, description="rows of the calibration data fed to the reader")


class Fp16Spec(Section):
    keep_io_types: Literal[True] = Field(True, description="inputs and outputs stay float32 (the contract)")


class PruneSpec(Section):
    sparsity: float = Field(0.5, gt=0, lt=1, description="fraction of each dense weight matrix set to zero")


class StructuredPruneSpec(Section):
    ratio: float = Field(0.5, gt=0, lt=1, description="fraction of hidden units removed from every layer")
    refit: bool = Field(True, description="refit the next layer by least squares on the calibration data")


class DistillSpec(Section):
    mlp_hidden: list[int] = Field([32], description="hidden layer sizes of the MLP student")
    trees: int = Field(20, ge=1, description="trees of the random-forest student")
    max_depth: int = Field(8, ge=1)
    augment: int = Field(4, ge=0, description="jittered copies of each row labelled by the teacher")
    seed: int = 0

    @field_validator("mlp_hidden")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or any(h < 1 for h in v):
            raise ValueError("give at least one positive hidden layer size")
        return v


class BudgetSpec(Section):
    max_accuracy_drop: float = Field(
        0.005, ge=0, le=1, description="largest allowed drop of the primary metric (accuracy or R²) "
        "against the fp32 baseline, as a fraction (0.005 = half a point)"
    )
    min_label_agreement: float = Field(0.99, ge=0, le=1, description="classification: share of rows whose "
                                       "label equals the baseline's")


class MeasureSpec(Section):
    rounds: int = Field(15, ge=3, description="interleaved rounds over all candidates; medians are taken")
    latency_runs: int = Field(200, ge=10, description="batch-1 calls per candidate per round")
    throughput_batch: int = Field(256, ge=2)
    throughput_runs: int = Field(20, ge=1, description="batched calls per candidate per round")
    noise_margin: float = Field(0.20, ge=0, lt=1, description="relative difference treated as noise: within "
                                "it the simpler candidate wins and 'slower' is not proven. 20%: on the shared 2-core "
                                "machine here int8 vs pruned+int8 (a 13-15% gap) flipped between runs at 10% and 15%")
    memory: bool = Field(True, description="measure peak RSS of each candidate in a child process")
    require_faster: bool = Field(True, description="reject candidates slower than the baseline (beyond noise)")


class OptimizeSpec(Section):
    """Model optimization: candidates, budget, measurement, objective and execution providers."""

    auto: bool = Field(False, description="build every applicable candidate (optimize=auto)")
    candidates: list[str] = Field([], description="explicit candidates, each 'pass' or 'pass+pass'")
    objective: Literal["latency", "throughput", "size"] = "latency"
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    measure: MeasureSpec = Field(default_factory=MeasureSpec)
    graph: GraphSpec = Field(default_factory=GraphSpec)
    int8_dynamic: Int8DynamicSpec = Field(default_factory=Int8DynamicSpec)
    int8_static: Int8StaticSpec = Field(default_factory=Int8StaticSpec)
    fp16: Fp16Spec = Field(default_factory=Fp16Spec)
    prune: PruneSpec = Field(default_factory=PruneSpec)
    structured_prune: StructuredPruneSpec = Field(default_factory=StructuredPruneSpec)
    distill: DistillSpec = Field(default_factory=DistillSpec)
    providers: ProvidersSpec = Field(default_factory=ProvidersSpec)

    @field_validator("candidates")
    @classmethod
    def _known_passes(cls, v: list[str]) -> list[str]:
        for cand in v:
            for part in cand.split("+"):
                if part not in PASS_NAMES:
                    raise ValueError(f"unknown pass {part!r} in candidate {cand!r}; "
                                     f"known passes: {', '.join(PASS_NAMES)}")
        if len(set(v)) != len(v):
            raise ValueError("a candidate is listed twice")
        return v

    @property
    def active(self) -> bool:
        """True when the build optimizes (the contract with ``model.ingest``)."""
        return self.auto or bool(self.candidates)

    def planned(self) -> list[str]:
        """The candidates to build, in a stable order."""
        return list(AUTO_CANDIDATES) if self.auto else list(self.candidates)
