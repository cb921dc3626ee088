"""CatBoost models: ``CatBoostClassifier`` / ``CatBoostRegressor`` saved with joblib (or a Pipeline ending in
one), and native model files (``.cbm``, ``save_model``; ``.cb``, MLflow's catboost flavor). The trees are
exported with CatBoost's own ONNX export and embedded by a skl2onnx converter (boosters_onnx.py), so a
Pipeline ending in a CatBoost model converts too. Categorical, text and embedding features are refused, naming
them: CatBoost's ONNX export does not support them.

A native file is loaded into ``CatBoostClassifier`` or ``CatBoostRegressor`` as its loss function says (the
losses whose export matches CatBoost: boosters_onnx.OBJECTIVES; Poisson, Tweedie, MultiClassOneVsAll and
others are refused by name), with its tree count, learning rate and depth set so cross-validation refits a
like model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlready.engine.formats import ModelFormat
from mlready.generators.model.boosters import LIBRARIES, load_estimator
from mlready.generators.model.source import ModelSourceError, SourceModel

LIB = LIBRARIES["catboost"]
FORMAT = ModelFormat(
    name="catboost",
    title="CatBoost",
    load="mlready.generators.model.catboost:load",
    suffixes=(".cbm", ".cb"),
    mlflow_flavor=("catboost", "data"),
    tools=("catboost", "skl2onnx"),
    refit="mlready.generators.model.boosters:refit",
    requires=("catboost", "onnxmltools"),
    install=LIB.install,
)
MAGIC = b"CBM1"  # CatBoost's binary model files start with it


def load(spec: Any, path: Path | None, sample: Any) -> SourceModel:
    assert path is not None
    return load_estimator(spec, path, sample, LIB, read_native)


def read_native(path: Path) -> Any:
    import catboost
    from mlready.generators.model.boosters_onnx import catboost_objective, objective_task

    with path.open("rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise ModelSourceError(f"{path}: not a CatBoost model: a CatBoost model file (save_model, format "
                                   "'cbm') starts with 'CBM1'")
    try:
        generic = catboost.CatBoost().load_model(str(path))
    except catboost.CatBoostError as exc:
        raise ModelSourceError(f"{path}: not a readable CatBoost model: {str(exc).splitlines()[0]}") from None
    params = generic.get_all_params()
    task = objective_task("catboost", catboost_objective(generic), str(path))
    cls = catboost.CatBoostClassifier if task == "classification" else catboost.CatBoostRegressor
    # the training hyper-parameters a clone refits with (a fitted CatBoost model refuses set_params)
    refit = {"iterations": int(generic.tree_count_), "loss_function": params.get("loss_function"),
             "verbose": 0, "allow_writing_files": False, "thread_count": 1}
    for key in ("learning_rate", "depth", "l2_leaf_reg"):
        if key in params:
            refit[key] = params[key]
    return cls(**refit).load_model(str(path))  # its width and feature names: boosters_onnx.complete
