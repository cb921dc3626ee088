"""What every pass shares: its input (:class:`PassContext`), the way it declines (:class:`PassSkipped`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
from mlready.generators._shared.onnx_model import PassSkipped

if TYPE_CHECKING:
    from mlready.generators.optimize.config import OptimizeSpec


class UnsupportedOperator(PassSkipped):  # noqa: N818
    """The pass met an operator it cannot handle; names the operator and the node."""

    def __init__(self, pass_name: str, op_type: str, node: str, why: str = ""):
        self.op_type = op_type
        super().__init__(f"{pass_name}: unsupported operator {op_type!r} (node {node!r})" + (f": {why}" if why else ""))


@dataclass
class PassContext:
    """Inputs of a pass. ``calib`` is float32 feature rows for calibration, refits and distillation."""

    cfg: OptimizeSpec
    baseline: onnx.ModelProto
    calib: np.ndarray
    task: str  # "classification" | "regression"
    scratch: Path
    calib_source: str = "train"

    def path(self, name: str) -> Path:
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch / name


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save_model(model, str(path))
    return path


def load(path: Path) -> onnx.ModelProto:
    return onnx.load_model(str(path))
