"""The skl2onnx converters for XGBoost, LightGBM and CatBoost estimators, and what they cannot convert.

Registered with ``skl2onnx.update_registered_converter`` (once per library), so ``convert_sklearn`` converts a
booster alone or as the last step of a Pipeline, with the same options as any scikit-learn classifier (ZipMap
off: ``label`` + ``probabilities``):

- XGBoost and LightGBM: onnxmltools' tree converters. XGBoost's converter reads the tree dump, which must
  use ``f0, f1, …`` feature names: the booster's own names are set aside while it converts.
- CatBoost: CatBoost's own ONNX export (the better-kept path) of the trees, embedded as the pipeline's
  TreeEnsemble operator.
- a native LightGBM ``Booster`` (a ``.txt`` model file) is wrapped in :class:`LightGBMBoosterClassifier` /
  :class:`LightGBMBoosterRegressor`, scikit-learn-API views that predict with the booster and refit as a
  ``LGBMClassifier`` / ``LGBMRegressor`` with the file's hyper-parameters.

Categorical features: LightGBM and XGBoost splits on integer-coded categories convert (the caller sends the
codes), and so does a LightGBM or XGBoost model fitted on pandas ``category`` columns (booster_categories.py
maps the values to codes); pandas categories reaching a booster inside a Pipeline and CatBoost
categorical/text/embedding features are refused with the feature's name.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import numpy as np
from mlready.generators.model.source import ModelSourceError
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

#: what each library's conversion uses (the report's notes)
CONVERTERS = {
    "xgboost": "onnxmltools' XGBoost converter",
    "lightgbm": "onnxmltools' LightGBM converter",
    "catboost": "CatBoost's own ONNX export",
}
CLASSIFIER_OPTIONS = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
#: the objectives whose ONNX conversion matches the library (parity checked in the tests), by task; others
#: are refused by name: onnxmltools has no rule for them (fair, mape, cross_entropy, binary:logitraw) or
#: converts them wrongly (reg:logistic without its sigmoid, multiclassova as a softmax)
OBJECTIVES = {
    "xgboost": {
        "classification": ("binary:logistic", "binary:hinge", "multi:softprob", "multi:softmax"),
        "regression": ("reg:squarederror", "reg:squaredlogerror", "reg:absoluteerror", "reg:pseudohubererror",
                       "reg:quantileerror", "reg:gamma", "reg:tweedie", "count:poisson"),
    },
    "lightgbm": {
        "classification": ("binary", "multiclass"),
        "regression": ("regression", "regression_l1", "huber", "quantile", "poisson", "gamma", "tweedie"),
    },
    "catboost": {  # CatBoost's export leaves out Poisson's and Tweedie's exp, and MultiClassOneVsAll's sigmoids
        "classification": ("Logloss", "CrossEntropy", "MultiClass"),
        "regression": ("RMSE", "MAE", "Quantile", "MAPE", "Huber", "Lq", "LogCosh", "LogLinQuantile"),
    },
}
PIPELINE_HINT = "encode it in a scikit-learn Pipeline before the booster (OneHotEncoder or OrdinalEncoder)"


def converter_note(module: str) -> str:
    return f"converted with {CONVERTERS[module]}"


def _feature_name(names: Any, index: int) -> str:
    names = list(names) if names is not None else []
    return f"'{names[index]}'" if index < len(names) else f"#{index}"


def _refuse(origin: str, what: str, names: list[str], why: str) -> None:
    shown = ", ".join(names)
    noun = "feature" if len(names) == 1 else "features"
    raise ModelSourceError(f"{origin}: {what} {noun} {shown}: {why}; {PIPELINE_HINT}")


def objective_task(module: str, objective: str, origin: str, task: str | None = None) -> str:
    """"classification" or "regression" for a supported objective (of the estimator's ``task``, when given: an
    ``XGBRegressor`` fitted with ``binary:logistic`` converts wrongly); a ModelSourceError naming it otherwise."""
    for found, names in OBJECTIVES[module].items():
        if objective in names and task in (None, found):
            return found
    title = {"xgboost": "XGBoost", "lightgbm": "LightGBM", "catboost": "CatBoost"}[module]
    supported = "; ".join(f"{task}: {', '.join(names)}" for task, names in OBJECTIVES[module].items())
    what = f" for a {'classifier' if task == 'classification' else 'regressor'}" if task else ""
    raise ModelSourceError(f"{origin}: {title} objective {objective or '(none: a custom objective)'!r}{what} is "
                           f"not supported by the ONNX conversion ({supported})")


def xgboost_objective(booster: Any) -> str:
    return str(json.loads(booster.save_config())["learner"]["objective"]["name"])


def lightgbm_objective(booster: Any) -> str:
    """The canonical objective name the model file records (``binary sigmoid:1`` -> ``binary``)."""
    return str(booster.dump_model(num_iteration=1).get("objective") or "").split(" ")[0]


def catboost_objective(est: Any) -> str:
    """The loss function's name (``Quantile:alpha=0.5`` -> ``Quantile``)."""
    return str(est.get_all_params().get("loss_function", "")).split(":")[0]


def check_supported(est: Any, origin: str, categories_mapped: bool = False) -> None:
    """Refuse the objectives, booster kinds and categorical setups the converters cannot express, naming them
    (``categories_mapped``: the model's pandas category columns get a value -> code step, booster_categories)."""
    from mlready.generators.model.boosters import library_of

    lib = library_of(est)
    module = lib.module if lib else ""
    task = "classification" if hasattr(est, "predict_proba") else "regression"
    if module == "xgboost":
        booster = est.get_booster()
        kind = json.loads(booster.save_config())["learner"]["gradient_booster"]["name"]
        if kind != "gbtree":  # dart fails inside onnxmltools, gblinear has no trees
            raise ModelSourceError(f"{origin}: XGBoost booster {kind!r} is not supported by the ONNX conversion "
                                   "(booster='gbtree' only)")
        objective_task("xgboost", xgboost_objective(booster), origin, task)
        stored = booster.get_categories(export_to_arrow=True).to_arrow() or []
        cats = [f"'{name}'" for name, values in stored if values is not None]  # pandas category columns
        if cats and not categories_mapped:
            _refuse(origin, "XGBoost pandas 'category'", cats, "inside a Pipeline the booster's input is the step "
                    "before it, whose category codes the ONNX model cannot tell (an XGBoost model fitted on the "
                    "table directly converts, and so do categorical features fitted on integer codes)")
    elif module == "lightgbm":
        booster = est.booster_
        objective_task("lightgbm", lightgbm_objective(booster), origin, task)
        params = booster.params
        boosting = params.get("boosting", params.get("boosting_type", "gbdt"))
        if boosting == "rf" or params.get("linear_tree"):  # onnxmltools converts both wrongly (parity 0.87, 0.39)
            what = "random forest mode (boosting 'rf')" if boosting == "rf" else "linear trees (linear_tree)"
            raise ModelSourceError(f"{origin}: LightGBM {what} is not supported by the ONNX conversion")
        pandas_cats = getattr(booster, "pandas_categorical", None) or []
        if pandas_cats and not categories_mapped:
            names = booster.feature_name()
            cat_idx = _pandas_category_columns(booster, len(pandas_cats))
            shown = [_feature_name(names, i) for i in cat_idx] or [f"{len(pandas_cats)} pandas category column(s)"]
            _refuse(origin, "LightGBM pandas 'category'", shown, "inside a Pipeline the booster's input is the "
                    "step before it, whose category codes the ONNX model cannot tell (a LightGBM model fitted on "
                    "the table directly converts, and so do integer codes given to categorical_feature)")
    elif module == "catboost":
        objective_task("catboost", catboost_objective(est), origin, task)
        names = est.feature_names_ or []
        for kind, getter in (("categorical", "get_cat_feature_indices"), ("text", "get_text_feature_indices"),
                             ("embedding", "get_embedding_feature_indices")):
            indices: list[int] = list(getattr(est, getter, list)())
            if len(indices):
                _refuse(origin, f"CatBoost {kind}", [_feature_name(names, int(i)) for i in indices],
                        "CatBoost's ONNX export does not support them")


def complete(est: Any) -> None:
    """What a CatBoost model does not say the scikit-learn way: its width (catboost 1.2 leaves
    ``n_features_in_`` 0 after load_model or unpickling) and, when fitted on named columns, their names
    (``feature_names_in_``, so the signature binds the caller's column names in the model's order)."""
    names = getattr(est, "feature_names_", None)
    if not type(est).__module__.startswith("catboost") or not names:
        return
    if not est.n_features_in_:
        est._n_features_in = len(names)
    if getattr(est, "feature_names_in_", None) is None:
        if [str(n) for n in names] != [str(i) for i in range(len(names))]:  # CatBoost's names for unnamed columns
            est.feature_names_in_ = np.asarray(names, dtype=object)


def _pandas_category_columns(booster: Any, count: int) -> list[int]:
    """Indices of the features LightGBM treats as categorical (from the model's parameters)."""
    dump = booster.dump_model(num_iteration=1)
    infos = dump.get("feature_infos", {})  # a categorical feature lists its category codes under "values"
    names = dump.get("feature_names", [])
    return [i for i, n in enumerate(names) if isinstance(infos.get(n), dict) and infos[n].get("values")][:count]


@cache
def register(module: str) -> None:
    """Register the skl2onnx converters of one library (once per process)."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes as classifier_shapes,
    )
    from skl2onnx.common.shape_calculator import (
        calculate_linear_regressor_output_shapes as regressor_shapes,
    )

    if module == "xgboost":
        import xgboost as xgb

        for cls in (xgb.XGBClassifier, xgb.XGBRFClassifier):
            update_registered_converter(cls, f"Mlready{cls.__name__}", classifier_shapes, _convert_xgboost,
                                        options=CLASSIFIER_OPTIONS)
        for cls in (xgb.XGBRegressor, xgb.XGBRFRegressor):
            update_registered_converter(cls, f"Mlready{cls.__name__}", regressor_shapes, _convert_xgboost)
    elif module == "lightgbm":
        import lightgbm as lgb
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        for cls in (lgb.LGBMClassifier, LightGBMBoosterClassifier):
            update_registered_converter(cls, f"Mlready{cls.__name__}", classifier_shapes, convert_lightgbm,
                                        options=CLASSIFIER_OPTIONS)
        for cls in (lgb.LGBMRegressor, LightGBMBoosterRegressor):
            update_registered_converter(cls, f"Mlready{cls.__name__}", regressor_shapes, convert_lightgbm)
    elif module == "catboost":
        import catboost

        update_registered_converter(catboost.CatBoostClassifier, "MlreadyCatBoostClassifier", classifier_shapes,
                                    _convert_catboost, options=CLASSIFIER_OPTIONS, parser=_parse_catboost_classifier)
        update_registered_converter(catboost.CatBoostRegressor, "MlreadyCatBoostRegressor", regressor_shapes,
                                    _convert_catboost)
    else:  # pragma: no cover - boosters.LIBRARIES names the three
        raise ValueError(module)


def _convert_xgboost(scope: Any, operator: Any, container: Any) -> None:
    """onnxmltools' converter, with the booster's feature names set aside (its dump parser wants f0, f1, …)."""
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost

    booster = operator.raw_operator.get_booster()
    names, types = booster.feature_names, booster.feature_types
    booster.feature_names = None
    try:
        convert_xgboost(scope, operator, container)
    finally:
        booster.feature_names = names
        booster.feature_types = types


def _parse_catboost_classifier(scope: Any, model: Any, inputs: Any, custom_parsers: Any = None) -> Any:
    """skl2onnx's classifier parser needs a ClassifierMixin, which CatBoostClassifier is not: the same
    outputs (label, probabilities, then ZipMap unless it is off), declared here."""
    from skl2onnx._parse import _apply_zipmap, _get_sklearn_operator_name
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType, guess_tensor_type

    options = scope.get_options(model, dict(zipmap=True))
    operator = scope.declare_local_operator(_get_sklearn_operator_name(type(model)), model)
    operator.inputs = inputs
    ints = all(isinstance(c, (int, np.integer)) for c in model.classes_)
    operator.outputs.append(scope.declare_local_variable("label", Int64TensorType() if ints else StringTensorType()))
    operator.outputs.append(scope.declare_local_variable("probabilities", guess_tensor_type(inputs[0].type)))
    if options["zipmap"] is False:
        return operator.outputs
    return _apply_zipmap(options["zipmap"], scope, model, inputs[0].type, operator.outputs)


def _convert_catboost(scope: Any, operator: Any, container: Any) -> None:
    """CatBoost's own export of the trees: one TreeEnsemble node (its class labels are the model's classes, ints
    or strings), its inputs and outputs the operator's."""
    import catboost
    from catboost.utils import convert_to_onnx_object
    from onnx.helper import get_attribute_value

    try:
        onx = convert_to_onnx_object(operator.raw_operator)
    except catboost.CatBoostError as exc:  # e.g. float class labels: reported as a conversion failure
        message = str(exc).strip().splitlines()[0].split(": ", 1)[-1]  # without "catboost/libs/....cpp:137: "
        raise RuntimeError(f"CatBoost's ONNX export: {message}") from None
    trees = [n for n in onx.graph.node if n.op_type.startswith("TreeEnsemble")]
    others = [n.op_type for n in onx.graph.node if n not in trees and n.op_type != "ZipMap"]
    if len(trees) != 1 or others or len(onx.graph.initializer):
        raise RuntimeError(f"CatBoost's ONNX export has an unexpected graph ({[n.op_type for n in onx.graph.node]})")
    node = trees[0]
    attrs = {a.name: get_attribute_value(a) for a in node.attribute}  # class labels: the model's own classes
    container.add_node(
        node.op_type,
        [operator.inputs[0].full_name],
        [o.full_name for o in operator.outputs],
        op_domain="ai.onnx.ml",
        op_version=1,
        name=scope.get_unique_operator_name(f"CatBoost{node.op_type}"),
        **attrs,
    )


class _LightGBMBooster(BaseEstimator):
    """A fitted ``lightgbm.Booster`` behind scikit-learn's API: what onnxmltools' converter reads
    (``booster_``, ``boosting_type``, ``classes_``), predictions, and a refit template."""

    mlready_library = "lightgbm"  # boosters.library_of: converted with the LightGBM converter

    def __init__(self, booster: Any = None):
        self.booster = booster

    @property
    def booster_(self) -> Any:
        return self.booster

    @property
    def boosting_type(self) -> str:
        return "rf" if self.booster.params.get("boosting", "") == "rf" else "gbdt"

    @property
    def n_features_in_(self) -> int:
        return int(self.booster.num_feature())

    @property
    def feature_names_in_(self) -> np.ndarray | None:
        names = self.booster.feature_name()
        if all(n == f"Column_{i}" for i, n in enumerate(names)):  # LightGBM's names for unnamed columns
            return None
        return np.asarray(names, dtype=object)

    def _raw(self, X: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(X))

    def refit_params(self) -> dict[str, Any]:
        p = self.booster.params
        params = {"objective": p.get("objective"), "n_estimators": int(self.booster.current_iteration()),
                  "verbose": -1}
        for ours, theirs in (("learning_rate", "learning_rate"), ("num_leaves", "num_leaves"),
                             ("max_depth", "max_depth"), ("min_child_samples", "min_data_in_leaf"),
                             ("subsample", "bagging_fraction"), ("subsample_freq", "bagging_freq"),
                             ("colsample_bytree", "feature_fraction"), ("reg_alpha", "lambda_l1"),
                             ("reg_lambda", "lambda_l2")):
            if theirs in p:
                params[ours] = p[theirs]
        return params


    def refit_fit_params(self) -> dict[str, Any]:
        """The categorical features (by position) the booster was trained with: a fit argument in LightGBM."""
        spec = self.booster.params.get("categorical_feature")
        values = spec if isinstance(spec, list) else str(spec or "").replace(" ", "").split(",")
        cats = [int(v) for v in values if str(v).isdigit()]
        return {"categorical_feature": cats} if cats else {}


class LightGBMBoosterClassifier(ClassifierMixin, _LightGBMBooster):
    @property
    def classes_(self) -> np.ndarray:
        n = int(self.booster.params.get("num_class", 1) or 1)
        return np.arange(2 if n == 1 else n)

    def predict_proba(self, X: Any) -> np.ndarray:
        raw = self._raw(X)
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def refit_template(self) -> Any:
        import lightgbm as lgb

        params = self.refit_params()
        params.pop("objective", None)  # LGBMClassifier picks binary/multiclass from the labels
        return lgb.LGBMClassifier(**params)


class LightGBMBoosterRegressor(RegressorMixin, _LightGBMBooster):
    def predict(self, X: Any) -> np.ndarray:
        return self._raw(X)

    def refit_template(self) -> Any:
        import lightgbm as lgb

        return lgb.LGBMRegressor(**self.refit_params())
