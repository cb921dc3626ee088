"""Is the int8 model within the accuracy budget? fp32 and int8 evaluated on the evaluation data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Verdict:
    metric: str  # "accuracy" | "r2"
    fp32: float
    int8: float
    agreement: float | None  # classification: share of equal labels
    within: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "fp32": round(self.fp32, 6), "int8": round(self.int8, 6),
                "label_agreement": None if self.agreement is None else round(self.agreement, 6),
                "within_budget": self.within, "reason": self.reason}


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss if ss else 0.0


def judge(fp32: bytes, int8: bytes, x: np.ndarray, y: np.ndarray, task: str, classes: list | None, cfg: Any
          ) -> Verdict:
    from mlready.generators._shared.scoring import as_labels, predict_onnx

    a, b = predict_onnx(fp32, x, task, classes), predict_onnx(int8, x, task, classes)
    if task == "regression":
        s32, s8 = _r2(y, a.regression()), _r2(y, b.regression())
        agreement = None
        ok = s32 - s8 <= cfg.max_accuracy_drop
        why = f"R² {s8:.4f} vs fp32 {s32:.4f} (drop {s32 - s8:.4f}, budget {cfg.max_accuracy_drop})"
        return Verdict("r2", s32, s8, agreement, ok, why)
    truth = as_labels(y)
    s32, s8 = float(np.mean(a.labels == truth)), float(np.mean(b.labels == truth))
    agreement = float(np.mean(a.labels == b.labels))
    ok = s32 - s8 <= cfg.max_accuracy_drop and agreement >= cfg.min_label_agreement
    why = (f"accuracy {s8:.4f} vs fp32 {s32:.4f} (drop {s32 - s8:.4f}, budget {cfg.max_accuracy_drop}); "
           f"label agreement {agreement:.4f} (at least {cfg.min_label_agreement})")
    return Verdict("accuracy", s32, s8, agreement, ok, why)
