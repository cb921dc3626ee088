"""LightGBM models: ``LGBMClassifier`` / ``LGBMRegressor`` saved with joblib (or a Pipeline ending in one), and
native text model files (``.txt``, ``Booster.save_model``; ``.lgb``, MLflow's lightgbm flavor), converted
with onnxmltools through skl2onnx (boosters.py, boosters_onnx.py).

A native file is a ``lightgbm.Booster`` behind a scikit-learn-API view (boosters_onnx.py): a classifier for the
``binary``/``multiclass`` objectives (classes ``0..num_class-1``), a regressor for the regression ones
(boosters_onnx.OBJECTIVES); others (ranking, multiclassova, cross_entropy, custom) are refused by name. Cross-validation refits an ``LGBMClassifier``/``LGBMRegressor`` with
the file's hyper-parameters. Integer-coded categorical features convert; pandas ``category`` columns do not.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from mlready.engine.formats import ModelFormat
from mlready.generators.model.boosters import LIBRARIES, load_estimator
from mlready.generators.model.source import ModelSourceError, SourceModel

LIB = LIBRARIES["lightgbm"]
FORMAT = ModelFormat(
    name="lightgbm",
    title="LightGBM",
    load="mlready.generators.model.lightgbm:load",
    suffixes=(".lgb",),
    shared_suffixes=(".txt",),
    mlflow_flavor=("lightgbm", "data"),
    tools=("lightgbm", "onnxmltools", "skl2onnx"),
    refit="mlready.generators.model.boosters:refit",
    requires=("lightgbm", "onnxmltools"),
    install=LIB.install,
)
MAGIC = b"tree\n"  # the first line of a LightGBM text model


def load(spec: Any, path: Path | None, sample: Any) -> SourceModel:
    assert path is not None
    return load_estimator(spec, path, sample, LIB, read_native)


def read_native(path: Path) -> Any:
    import lightgbm as lgb
    from mlready.generators.model.boosters_onnx import (
        LightGBMBoosterClassifier,
        LightGBMBoosterRegressor,
        lightgbm_objective,
        objective_task,
    )

    with path.open("rb") as fh:
        head = fh.read(len(MAGIC)).replace(b"\r\n", b"\n")
    if head != MAGIC:
        raise ModelSourceError(f"{path}: not a LightGBM model: a LightGBM text model starts with a 'tree' line "
                               "(saved with Booster.save_model or LGBMClassifier.booster_.save_model)")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # LightGBM logs its own copy of the error
            booster = lgb.Booster(model_file=str(path))
    except lgb.basic.LightGBMError as exc:
        raise ModelSourceError(f"{path}: not a readable LightGBM model: {str(exc).splitlines()[0]}") from None
    task = objective_task("lightgbm", lightgbm_objective(booster), str(path))
    return LightGBMBoosterClassifier(booster) if task == "classification" else LightGBMBoosterRegressor(booster)
