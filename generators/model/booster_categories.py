"""A LightGBM or XGBoost model fitted on pandas ``category`` columns, served with the category *values* callers
send.

LightGBM and XGBoost split on the codes of a pandas category column (its position in the categories the model
stores: LightGBM's ``pandas_categorical``, XGBoost's ``get_categories()``), and onnxmltools converts those
splits (BRANCH_EQ chains). The code is pandas'
business, not the caller's: :class:`CategoricalBoosterClassifier` / :class:`CategoricalBoosterRegressor` put
the value -> code step in front of the booster, in scikit-learn (predictions and refits on the table as it is
read) and in ONNX (one typed input per column: an ``ai.onnx.ml`` LabelEncoder per category column, numbers
cast to float, concatenated in the model's column order, then onnxmltools' tree ensemble). A value the model
never saw is a missing value, as pandas makes it (code -1).

Category values must all be strings or all integers (the input's BYTES or INT64 type).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from mlready.generators.model.source import ModelSourceError
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

CODES_ALIAS = "MlreadyCategoryCodes"


def wrap(est: Any, origin: str) -> Any:
    """``est`` (a fitted LightGBM or XGBoost scikit-learn estimator, or a native LightGBM booster's view) behind
    the value -> code step when it was fitted on pandas category columns; else ``est`` itself."""
    found = _xgboost_categories(est) if hasattr(est, "get_booster") else _lightgbm_categories(est, origin)
    if found is None:
        return est
    names, categories, library = found
    for column, values in categories.items():
        if not (all(isinstance(v, str) for v in values) or all(isinstance(v, (int, np.integer)) for v in values)):
            raise ModelSourceError(f"{origin}: {library} category feature '{column}' has categories that are "
                                   "neither all strings nor all integers; the ONNX model cannot take them")
    cls = CategoricalBoosterClassifier if hasattr(est, "classes_") else CategoricalBoosterRegressor
    return cls(booster=est, categories=categories, feature_names=names)


def _lightgbm_categories(est: Any, origin: str) -> tuple[list[str], dict[str, list[Any]], str] | None:
    """LightGBM keeps a pandas category column's categories in the model (``pandas_categorical``, in column
    order); its categorical features list their codes in ``feature_infos``."""
    booster = est.booster_
    cats = getattr(booster, "pandas_categorical", None) or []
    if not cats:
        return None
    names = list(booster.feature_name())
    infos = booster.dump_model(num_iteration=1).get("feature_infos", {})
    columns = [n for n in names if isinstance(infos.get(n), dict) and infos[n].get("values")]
    if len(columns) != len(cats):
        raise ModelSourceError(f"{origin}: cannot tell which of the LightGBM model's {len(names)} features are its "
                               f"{len(cats)} pandas category columns")
    return names, {c: list(v) for c, v in zip(columns, cats, strict=True)}, "LightGBM"


def _xgboost_categories(est: Any) -> tuple[list[str], dict[str, list[Any]], str] | None:
    """XGBoost (3.1+) keeps the categories of each pandas category column in the model; a categorical feature
    without them was fitted on codes, which the caller then sends as numbers."""
    booster = est.get_booster()
    if "c" not in (booster.feature_types or []) or not hasattr(booster, "get_categories"):
        return None
    stored = booster.get_categories(export_to_arrow=True).to_arrow() or []
    categories = {str(name): list(values.to_pylist()) for name, values in stored if values is not None}
    if not categories:
        return None
    return list(booster.feature_names or []), categories, "XGBoost"


class _CategoricalBooster(BaseEstimator):
    """The booster behind its category columns' value -> code step (see the module docstring)."""

    def __init__(self, booster: Any = None, categories: dict[str, list[Any]] | None = None,
                 feature_names: list[str] | None = None):
        self.booster = booster
        self.categories = categories
        self.feature_names = feature_names

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.asarray(self.feature_names, dtype=object)

    @property
    def n_features_in_(self) -> int:
        return len(self.feature_names or [])

    def _frame(self, X: Any) -> pd.DataFrame:
        frame = X.copy() if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=self.feature_names)
        frame = frame[list(self.feature_names or [])]
        for column, values in (self.categories or {}).items():
            known = frame[column].where(frame[column].isin(values))  # an unseen value is missing (code -1)
            frame[column] = pd.Categorical(known, categories=values)
        return frame

    def fit(self, X: Any, y: Any) -> Any:
        """Refit (cross-validation): the categories the fold's rows hold, a fresh booster on them."""
        frame = X.copy() if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=self.feature_names)
        self.categories = {c: sorted(frame[c].dropna().unique().tolist()) for c in self.categories or {}}
        refit = getattr(self.booster, "refit_template", None)  # a native file's booster view refits as its estimator
        self.booster = (refit() if refit else clone(self.booster)).fit(self._frame(frame), y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(self._frame(X)))


class CategoricalBoosterClassifier(ClassifierMixin, _CategoricalBooster):
    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.booster.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.booster.predict_proba(self._frame(X)))


class CategoricalBoosterRegressor(RegressorMixin, _CategoricalBooster):
    pass


class _Codes:
    """The ONNX operator type of the value -> code step (registered under CODES_ALIAS)."""


@cache
def register() -> None:
    """The skl2onnx parser of the wrapped boosters and the converter of their value -> code step."""
    from mlready.generators.model.boosters_onnx import CLASSIFIER_OPTIONS
    from skl2onnx import update_registered_converter

    update_registered_converter(_Codes, CODES_ALIAS, _codes_shape, _convert_codes)
    update_registered_converter(CategoricalBoosterClassifier, "MlreadyCategoricalBoosterClassifier", _codes_shape,
                                _convert_codes, parser=_parse, options=CLASSIFIER_OPTIONS)
    update_registered_converter(CategoricalBoosterRegressor, "MlreadyCategoricalBoosterRegressor", _codes_shape,
                                _convert_codes, parser=_parse)


def _parse(scope: Any, model: Any, inputs: Any, custom_parsers: Any = None) -> Any:
    """value -> code step on the per-column inputs, then the booster's own parser on the float matrix."""
    from skl2onnx._parse import _parse_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    if len(inputs) != model.n_features_in_:
        raise RuntimeError(f"the model takes its {model.n_features_in_} columns as one input each (its "
                           "category columns hold values, not numbers): set data.eval so their types are known")
    codes = scope.declare_local_operator(CODES_ALIAS, model)
    codes.inputs = list(inputs)
    matrix = scope.declare_local_variable("category_codes", FloatTensorType([None, model.n_features_in_]))
    codes.outputs.append(matrix)
    options = scope.get_options(model, fail=False)  # zipmap off: for the booster's own classifier parser
    if options:
        scope.add_options(id(model.booster), options)
    return _parse_sklearn(scope, model.booster, [matrix], custom_parsers=custom_parsers)


def _codes_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    operator.outputs[0].type = FloatTensorType([None, len(operator.inputs)])


def _convert_codes(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    model = operator.raw_operator
    columns = []
    for variable, name in zip(operator.inputs, model.feature_names, strict=True):
        out = scope.get_unique_variable_name(f"{name}_code")
        values = (model.categories or {}).get(name)
        if values is None:
            container.add_node("Cast", [variable.full_name], [out], to=TensorProto.FLOAT,
                               name=scope.get_unique_operator_name("Cast"))
        else:
            keys = ({"keys_strings": [str(v) for v in values]} if all(isinstance(v, str) for v in values)
                    else {"keys_int64s": [int(v) for v in values]})
            container.add_node("LabelEncoder", [variable.full_name], [out], op_domain="ai.onnx.ml", op_version=2,
                               name=scope.get_unique_operator_name("LabelEncoder"),
                               values_floats=[float(i) for i in range(len(values))], default_float=float("nan"),
                               **keys)
        columns.append(out)
    container.add_node("Concat", columns, [operator.outputs[0].full_name], axis=1,
                       name=scope.get_unique_operator_name("Concat"))
