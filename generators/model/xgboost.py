"""XGBoost models: ``XGBClassifier`` / ``XGBRegressor`` saved with joblib (or a Pipeline ending in one), and
native model files (``.json``, ``.ubj``; ``.xgb``, MLflow's xgboost flavor), converted with onnxmltools
through skl2onnx (boosters.py, boosters_onnx.py).

A native file is loaded into ``XGBClassifier`` or ``XGBRegressor`` as its objective says (the objectives the
conversion supports: boosters_onnx.OBJECTIVES; others, such as ranking, are refused by name), with the
file's training hyper-parameters set so cross-validation refits a like model. A joblib file usually
names the sklearn format (``.joblib`` is its suffix): that format converts boosters through the same hook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlready.engine.formats import ModelFormat
from mlready.generators.model.boosters import LIBRARIES, load_estimator
from mlready.generators.model.source import ModelSourceError, SourceModel

LIB = LIBRARIES["xgboost"]
FORMAT = ModelFormat(
    name="xgboost",
    title="XGBoost",
    load="mlready.generators.model.xgboost:load",
    suffixes=(".ubj", ".xgb"),
    shared_suffixes=(".json",),
    mlflow_flavor=("xgboost", "data"),
    tools=("xgboost", "xgboost-cpu", "onnxmltools", "skl2onnx"),
    refit="mlready.generators.model.boosters:refit",
    requires=("xgboost", "onnxmltools"),
    install=LIB.install,
)
#: XGBoost's training parameters (in the saved config) -> the scikit-learn API's names, for refits
TRAIN_PARAMS = {"eta": "learning_rate", "max_depth": "max_depth", "min_child_weight": "min_child_weight",
                "subsample": "subsample", "colsample_bytree": "colsample_bytree", "lambda": "reg_lambda",
                "alpha": "reg_alpha", "gamma": "gamma", "max_bin": "max_bin"}


def load(spec: Any, path: Path | None, sample: Any) -> SourceModel:
    assert path is not None
    return load_estimator(spec, path, sample, LIB, read_native)


def _first_line(exc: Exception) -> str:
    line = str(exc).strip().split("\n")[0]
    return line.split(": ", 1)[1] if line.startswith("[") and ": " in line else line  # "[hh:mm:ss] file:line: …"


def read_native(path: Path) -> Any:
    import xgboost as xgb
    from mlready.generators.model.boosters_onnx import objective_task

    if path.suffix.lower() == ".json":  # any JSON file has this suffix: say what it is when it is no model
        try:
            doc = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelSourceError(f"{path}: not an XGBoost model: not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("learner"), dict):
            raise ModelSourceError(f"{path}: not an XGBoost model: an XGBoost JSON model has a 'learner' object "
                                   "(saved with Booster.save_model or XGBClassifier.save_model)")
    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except (xgb.core.XGBoostError, ValueError) as exc:
        raise ModelSourceError(f"{path}: not an XGBoost model: {_first_line(exc)}") from None
    config = json.loads(booster.save_config())
    task = objective_task("xgboost", config["learner"]["objective"]["name"], str(path))
    est = xgb.XGBClassifier() if task == "classification" else xgb.XGBRegressor()
    est.load_model(str(path))
    est.set_params(**_train_params(config, booster, task))
    return est


def _train_params(config: dict[str, Any], booster: Any, task: str) -> dict[str, Any]:
    """The saved training hyper-parameters, as the scikit-learn API names them (so a clone refits alike): the
    objective, and a regression objective's parameters (quantile_alpha, tweedie_variance_power, …)."""
    gb = config["learner"]["gradient_booster"]
    tree = gb.get("tree_train_param") or gb.get("gbtree", {}).get("tree_train_param") or {}
    objective = config["learner"]["objective"]
    params: dict[str, Any] = {"n_estimators": int(booster.num_boosted_rounds()), "objective": objective["name"]}
    for theirs, ours in TRAIN_PARAMS.items():
        if theirs in tree:
            value = float(tree[theirs])
            params[ours] = int(value) if ours in ("max_depth", "max_bin") else value
    if task == "regression":
        for section in (v for k, v in objective.items() if k.endswith("_param") and isinstance(v, dict)):
            params.update({k: _number(v) for k, v in section.items()})
    return params


def _number(text: str) -> Any:
    """XGBoost's saved parameter text as a number: '1.5' -> 1.5, '[5E-1]' -> 0.5, '[1E-1,9E-1]' -> [0.1, 0.9]."""
    values = [float(v) for v in str(text).strip("[]").split(",") if v.strip()]
    return values[0] if len(values) == 1 else values
