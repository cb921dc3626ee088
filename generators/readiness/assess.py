"""The readiness assessment: evaluate, cross-validate, compare, check the sample, then check the gates.

:func:`assess` takes plain inputs (the served ONNX bytes, what is known about the model, the data paths, the
``readiness`` section) and returns the JSON-able report; the build step (:mod:`.step`) only gathers those
inputs from the build context and turns the report into artifacts. Nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from mlready.engine.errors import StepError
from mlready.generators._shared.data import (
    Dataset,
    check_target_classes,
    load_dataset,
    load_table,
    read_table,
)
from mlready.generators._shared.feeds import feedable_rows, per_column
from mlready.generators._shared.gates import (
    DATA_METRICS,
    check_gates,
    eval_catalogue,
    model_metrics,
    parse_gate,
    sample_catalogue,
)
from mlready.generators._shared.scoring import predict_onnx, score, session
from mlready.generators.readiness import crossval, drift
from mlready.generators.readiness.config import ReadinessSpec
from mlready.generators.readiness.parity import parity
from mlready.generators.readiness.source_predict import predict_source, source_input

SCHEMA = "mlready/readiness-report/1"
POINTS = 400  # regression points kept in the report
Progress = Callable[[str, float | None], None]


@dataclass
class ModelUnderTest:
    onnx: bytes  # the served model
    task: str  # classification | regression
    name: str = "model"
    version: int = 1
    classes: list[Any] | None = None
    class_names: list[str] | None = None  # display names parallel to classes (the signature's)
    feature_names: list[str] | None = None  # columns the source model was fitted on, in input order
    input_name: str = "input"
    input_datatype: str = "FP32"
    n_features: int | None = None
    source: Any = None  # predict()/predict_proba() of the source framework, for parity (None: no parity)
    fit: crossval.Fit | None = None  # refits the model on (X, y), for cross-validation (None: no CV)
    fit_wants_frame: bool = False  # fit/source take a DataFrame of the feature columns, not an array
    kind: str = ""  # e.g. "sklearn Pipeline", "pytorch Net", "onnx"
    notes: list[str] = field(default_factory=list)  # what loading the source did (conversion, softmax added)
    features: list[dict[str, Any]] | None = None  # the signature's feature binding (None: positional)

    @property
    def tabular(self) -> bool:
        """One input per column (strings, booleans, ints kept): data is read as a table, not a float matrix."""
        return per_column(self.features)


@dataclass(frozen=True)
class Champion:
    """The model behind ``readiness.compare_to``, fetched from the registry."""

    uri: str
    version: str
    onnx: bytes


@dataclass
class DataPaths:
    """Spec-relative names and resolved paths of the datasets (None: not in the spec)."""

    eval: tuple[str, Path] | None = None
    train: tuple[str, Path] | None = None
    sample: tuple[str, Path] | None = None
    target: str = "target"
    features: list[str] | None = None


def _load(model: ModelUnderTest, data: DataPaths, which: str, **kw: Any) -> Dataset:
    ds = _read(model, data, which, **kw)
    if model.task != "regression" and ds.y is not None:
        check_target_classes(ds.y, ds.name, data.target, model.classes)
    return ds


def _read(model: ModelUnderTest, data: DataPaths, which: str, **kw: Any) -> Dataset:
    name, path = getattr(data, which)
    if model.tabular and model.features is not None:
        return load_table(
            path, name, target=data.target, task=model.task, features=[f["name"] for f in model.features],
            require_target=kw.get("require_target", True), frame=kw.get("frame"),
        )
    return load_dataset(
        path,
        name,
        target=data.target,
        task=model.task,
        spec_features=data.features,
        model_features=model.feature_names,
        n_features=model.n_features,
        input_name=model.input_name,
        input_datatype=model.input_datatype,
        **kw,
    )


def _source_x(model: ModelUnderTest, ds: Dataset) -> Any:
    if model.fit_wants_frame:
        return ds.frame[ds.features].reset_index(drop=True)
    return source_input(model.source, ds.frame, ds.features, ds.X) if model.source is not None else ds.X


def _scores_json(scores: Any) -> dict[str, Any]:
    return {
        "rows": scores.n,
        "metrics": scores.metrics,
        "undefined": scores.undefined,
        "confusion": scores.confusion,
        "roc": scores.roc,
    }


def _predict(model: ModelUnderTest, sess: Any, X: Any, name: str) -> Any:
    return predict_onnx(sess, X, model.task, model.classes, model.features if model.tabular else None, name)


def _evaluate(model: ModelUnderTest, sess: Any, ds: Dataset) -> tuple[dict[str, Any], Any]:
    pred = _predict(model, sess, ds.X, ds.name)
    scores = score(model.task, ds.y, pred, model.classes)
    block = {"data": ds.name, **_scores_json(scores)}
    if model.task == "regression" and ds.y is not None:
        block["points"] = _points(ds.y, pred.values)
    return block, pred


def _points(actual: Any, predicted: Any) -> dict[str, Any]:
    """At most POINTS (actual, predicted) pairs, evenly spread over the rows: the regression report's charts."""
    actual, predicted = np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64).ravel()
    idx = np.unique(np.linspace(0, len(actual) - 1, min(POINTS, len(actual))).round().astype(int))
    return {
        "rows": [int(i) + 1 for i in idx],
        "actual": [float(f"{v:.6g}") for v in actual[idx]],
        "predicted": [float(f"{v:.6g}") for v in predicted[idx]],
    }


def _cross_validate(
    model: ModelUnderTest, cfg: ReadinessSpec, data: DataPaths, datasets: dict, progress: Progress
):
    if cfg.cv.folds == 0:
        return {"skipped": "cross-validation is off (readiness.cv.folds: 0)"}
    if model.fit is None:
        return {
            "skipped": f"no estimator or trainer to refit: the {model.kind or 'source'} model cannot be retrained "
            "(model.trainer: 'module:function' taking (X, y) makes cross-validation possible)"
        }
    which = cfg.cv.data if cfg.cv.data != "auto" else ("train" if data.train else "eval")
    if getattr(data, which) is None:
        return {"skipped": f"no data to cross-validate on (data.{which} is not set)"}
    if which not in datasets:
        datasets[which] = _load(model, data, which)
    ds = datasets[which]
    X = ds.frame[ds.features].reset_index(drop=True) if model.fit_wants_frame else ds.X
    result = crossval.cross_validate(
        model.fit,
        X,
        ds.y,
        model.task,
        folds=cfg.cv.folds,
        seed=cfg.cv.seed,
        classes=model.classes,
        progress=lambda msg, f: progress(msg, f),
    )
    return {"data": ds.name, "rows": ds.rows, **result}


def _sample(model: ModelUnderTest, cfg: ReadinessSpec, data: DataPaths, sess: Any, datasets: dict) -> dict:
    if data.sample is None:
        raise ValueError("no sample to evaluate")  # the caller checks data.sample first
    name, path = data.sample
    frame = read_table(path, name)
    ref_key = "train" if data.train else "eval" if data.eval else None
    out: dict[str, Any] = {"data": name, "rows": len(frame), "reference": None, "checks": None}
    features = data.features or model.feature_names or [c for c in frame.columns if c != data.target]
    if ref_key:
        ref_name, ref_path = getattr(data, ref_key)
        out["reference"] = ref_name
        ref_frame = datasets[ref_key].frame if ref_key in datasets else read_table(ref_path, ref_name)
        out["checks"] = drift.data_checks(ref_frame, frame, features, cfg.drift.bins)
    values: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    if out["checks"]:
        values.update(out["checks"]["summary"])
        reasons.update(out["checks"]["undefined"])
    else:
        reasons.update(
            dict.fromkeys(DATA_METRICS, "no training or evaluation data to compare the sample with")
        )
    try:
        ds = _load(model, data, "sample", require_target=False, allow_nan=True, frame=frame)
    except StepError as exc:  # a column mismatch is a finding about the sample, reported, not a crash
        out["skipped"] = str(exc)
        reasons.update(dict.fromkeys(model_metrics(model.task), str(exc)))
        return {**out, "values": values, "reasons": reasons}
    if model.tabular and model.features is not None:  # NaN is a value for a float column (imputers fill it)
        complete = feedable_rows(ds.X, model.features)
    else:
        complete = np.isfinite(ds.X).all(axis=1)
    if ds.y is None:
        out["skipped"] = f"the sample has no target column {data.target!r}: model metrics not computed"
        reasons.update(dict.fromkeys(model_metrics(model.task), out["skipped"]))
    else:
        if not complete.all():
            out["left_out"] = f"{int((~complete).sum())} row(s) with missing values left out of the metrics"
        rows = ds.X[complete].reset_index(drop=True) if model.tabular else ds.X[complete]
        pred = _predict(model, sess, rows, ds.name)
        scores = score(model.task, ds.y[complete], pred, model.classes)
        out.update(_scores_json(scores))
        values.update(scores.metrics)
        reasons.update(scores.undefined)
    return {**out, "values": values, "reasons": reasons}


def _champion(model: ModelUnderTest, champion: Champion, ds: Dataset | None) -> dict[str, Any]:
    """The champion scored by the same code on the same rows as the challenger (its inputs must match)."""
    out: dict[str, Any] = {"uri": champion.uri, "version": champion.version}
    if ds is None:
        return {**out, "skipped": "no evaluation data (data.eval): the champion was not scored"}
    theirs = replace(model, onnx=champion.onnx, source=None, fit=None)
    try:
        block, _ = _evaluate(theirs, session(champion.onnx), ds)
    except Exception as exc:  # noqa: BLE001 - any failure to run it means: not comparable, said in the report
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {**out, "skipped": f"the champion's model cannot score this evaluation data ({first[:300]})"}
    return {**out, **block}


def _quiet(message: str, fraction: float | None = None) -> None:
    """The progress callback when nobody listens."""


def assess(
    model: ModelUnderTest,
    data: DataPaths,
    cfg: ReadinessSpec,
    progress: Progress | None = None,
    champion: Champion | None = None,
) -> dict:
    """Run every check the spec asks for and return the report (see README.md for its shape). With a
    ``champion``, it is scored on the same evaluation rows and champion gates compare with its metrics."""
    progress = progress or _quiet
    sess = session(model.onnx)
    values: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    datasets: dict[str, Dataset] = {}
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "model": {
            "name": model.name,
            "version": model.version,
            "task": model.task,
            "kind": model.kind,
            "classes": [c.item() if isinstance(c, np.generic) else c for c in model.classes or []] or None,
            "class_names": list(model.class_names) if model.class_names else None,
            "input": (
                {"name": model.input_name, "features": model.n_features}
                if not model.tabular or model.features is None
                else {"name": None, "features": len(model.features), "per_column": True}
            ),
        },
        "notes": list(model.notes),
    }
    if data.eval is None:
        why = "no evaluation data: data.eval is not set, so nothing was evaluated"
        report["eval"] = {"data": None, "skipped": why}
        report["parity"] = {"skipped": why}
        reasons.update(dict.fromkeys(eval_catalogue(model.task), why))
    else:
        progress(f"evaluating the served model on {data.eval[0]}", 0.05)
        ds = datasets["eval"] = _load(model, data, "eval")
        report["eval"], pred = _evaluate(model, sess, ds)
        values.update(report["eval"]["metrics"])
        reasons.update(report["eval"]["undefined"])
        if not cfg.parity:
            report["parity"] = {"skipped": "parity is off (readiness.parity: false)"}
        elif model.source is None:
            report["parity"] = {
                "skipped": "no source model to compare with (the source is the ONNX file itself)"
            }
        else:
            progress("comparing the source model with its ONNX conversion", 0.15)
            src = predict_source(model.source, _source_x(model, ds), model.task, model.classes)
            report["parity"] = {"data": ds.name, **parity(src, pred, model.task)}
            values.update(report["parity"]["metrics"])
            reasons.update(report["parity"]["undefined"])
    for metric in ("parity.agreement", "parity.max_abs_diff"):
        reasons.setdefault(metric, report["parity"].get("skipped", ""))
    report["cv"] = _cross_validate(model, cfg, data, datasets, progress)
    values.update(crossval.flat_metrics(report["cv"]))
    reasons.update(report["cv"].get("undefined", {}))
    for metric in eval_catalogue(model.task):
        if metric.startswith("cv.") and report["cv"].get("skipped"):
            reasons.setdefault(metric, report["cv"]["skipped"])
    theirs: dict[str, Any] | None = None
    theirs_why: dict[str, str] = {"": "no champion: readiness.compare_to is not set"}
    if champion is not None:
        progress(f"scoring the champion {champion.uri} (version {champion.version})", 0.85)
        report["champion"] = _champion(model, champion, datasets.get("eval"))
        theirs = report["champion"].get("metrics")
        theirs_why = {**report["champion"].get("undefined", {}), "": report["champion"].get("skipped", "")}
    gates = [parse_gate(g, eval_catalogue()) for g in cfg.gates]
    report["gates"] = [r.to_json() for r in check_gates(gates, values, reasons, theirs, theirs_why)]
    sample_gates = [parse_gate(g, sample_catalogue()) for g in cfg.sample.gates]
    if data.sample is not None:
        progress(f"checking the sample {data.sample[0]}", 0.9)
        sample = _sample(model, cfg, data, sess, datasets)
        s_values, s_reasons = sample.pop("values"), sample.pop("reasons")
    else:
        sample = {"data": None, "skipped": "no sample: data.sample is not set"}
        s_values, s_reasons = {}, dict.fromkeys(sample_catalogue(model.task), sample["skipped"])
    sample["gates"] = [r.to_json() for r in check_gates(sample_gates, s_values, s_reasons)]
    report["sample"] = sample
    every = report["gates"] + sample["gates"]
    failed = sum(not g["passed"] for g in every)
    report["summary"] = {"gates": len(every), "passed": len(every) - failed, "failed": failed}
    report["status"] = "no gates" if not every else ("failed" if failed else "passed")
    return report
