"""``mlready monitor``: production quality offline, per time window, from capture files and late labels.

The capture records (the server's or ``mlready score --capture``'s format) are joined with a label file (CSV or
Parquet: ``request_id``, the spec's target column, ``[row]``) by the retrain loop's own join
(:func:`mlready.generators.ci.retrain_gather.join`). Each window of ``window`` (by the record's ``time``) is scored
like the build scores its evaluation data (:mod:`mlready.generators._shared.scoring`) and its feature columns
compared with the training reference (``data.train``) by the readiness drift check
(:func:`mlready.generators.readiness.drift.data_checks`). The production gates are the spec's gates that can be
measured on production rows: the model metrics of ``readiness.gates`` (cv, parity and champion gates are
build-only) and every ``readiness.sample.gates`` entry. A window with fewer than ``min_rows`` labelled rows is
reported, not gated. Bad input raises :class:`MonitorInputError` (exit 2) naming the file, row and column.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlready.engine.errors import MlreadyError

if TYPE_CHECKING:
    import pandas as pd


class MonitorInputError(MlreadyError):
    """Bad capture, label or window input (exit 2), named by file, row and column."""

    exit_code = 2


@dataclass
class MonitorInputs:
    task: str  # classification | regression
    class_names: list[str] | None  # classifier: display names, in probability column order
    classes: list[str] | None  # classifier: the raw classes as text (a label file may use either)
    features: list[str]
    target: str
    reference: pd.DataFrame  # data.train
    gates: list[Any]  # parsed production gates
    bins: int


def parse_window(text: str) -> pd.Timedelta:
    """``1h``, ``30min``, ``90s``, ``1d`` -> a positive Timedelta; anything else is an input error."""
    import pandas as pd

    try:
        value = pd.Timedelta(text)
    except (ValueError, TypeError):
        raise MonitorInputError(f"--window {text!r}: not a duration (write e.g. 90s, 30min, 1h, 1d)") from None
    if pd.isna(value):
        raise MonitorInputError(f"--window {text!r}: not a duration (write e.g. 90s, 30min, 1h, 1d)")
    if value <= pd.Timedelta(0):
        raise MonitorInputError(f"--window {text!r}: a window must be longer than zero")
    if value < pd.Timedelta(seconds=1):
        raise MonitorInputError(f"--window {text!r}: shorter than a second (capture times are per request)")
    return value


def production_gates(readiness: Any) -> list[Any]:
    """The gates measurable on labelled production rows, parsed."""
    from mlready.generators._shared.gates import eval_catalogue, model_metrics, parse_gate, sample_catalogue

    metrics = set(model_metrics("classification")) | set(model_metrics("regression"))
    out = [g for g in (parse_gate(t, eval_catalogue()) for t in readiness.gates)
           if g.champion is None and g.metric in metrics]
    out += [parse_gate(t, sample_catalogue()) for t in readiness.sample.gates]
    unique: dict[str, Any] = {}
    for g in out:
        unique.setdefault(g.text, g)
    return list(unique.values())


def _label_error(labels: Path, index: int, target: str, why: str) -> MonitorInputError:
    where = f"line {index + 2}" if labels.suffix.lower() == ".csv" else f"row {index}"
    return MonitorInputError(f"{labels}: {where}, column {target!r}: {why}")


def _true_label(value: Any, inputs: MonitorInputs, labels: Path, index: int) -> Any:
    """The label file's value as the capture writes predictions (a class name, or a float)."""
    import numpy as np

    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise _label_error(labels, index, inputs.target, "no label")
    if inputs.task == "regression":
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            try:
                value = float(str(value))
            except ValueError:
                raise _label_error(labels, index, inputs.target, f"{value!r} is not a number") from None
        if not math.isfinite(float(value)):
            raise _label_error(labels, index, inputs.target, f"{value!r} is not a finite number")
        return float(value)
    text = str(value)
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))  # a CSV column with gaps reads 1 as 1.0
    names, raw = inputs.class_names or [], inputs.classes or []
    if text in names:
        return text
    if text in raw:
        return names[raw.index(text)]
    raise _label_error(labels, index, inputs.target,
                       f"{text!r} is not a class of the model (classes: {', '.join(names)})")


def _captured_label(value: Any, inputs: MonitorInputs, capture: Path, rid: str, rec: dict[str, Any]) -> str:
    """A captured predicted label as one of the model's class names (a class value captured before the build
    named its classes maps to its name); anything else means the capture is of another model."""
    text = str(value)
    names, raw = inputs.class_names or [], inputs.classes or []
    if text in names:
        return text
    if text in raw:
        return names[raw.index(text)]
    raise MonitorInputError(
        f"{capture}: request {rid!r} (model {rec.get('model')!r}, version {rec.get('version')!r}): the captured "
        f"prediction {text!r} is not a class of the model this project builds (classes: {', '.join(names)}); "
        f"monitor the capture of this project's model")


def joined_rows(capture: Path, labels: Path, inputs: MonitorInputs) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per labelled captured prediction: time, the features, ``__pred``, ``__true``, ``__proba_<c>``."""
    import pandas as pd
    from mlready.generators.ci.retrain_gather import GatherError, join, read_capture, read_table

    try:
        lab = read_table(labels)
    except GatherError as exc:
        raise MonitorInputError(str(exc)) from None
    except Exception as exc:  # a damaged CSV / Parquet file
        raise MonitorInputError(f"{labels}: not a readable label file: {type(exc).__name__}: {exc}") from None
    for column in ("request_id", inputs.target):
        if column not in lab.columns:
            raise MonitorInputError(f"{labels}: no column {column!r} (columns: {', '.join(map(str, lab.columns))})")
    try:
        records = read_capture(capture, keep=set(lab["request_id"].astype(str)))  # only labelled records held
    except GatherError as exc:
        raise MonitorInputError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise MonitorInputError(f"{capture}: a capture file that is not UTF-8 text ({exc})") from None
    counts = {"labels": len(lab), "used": 0, "not_captured": 0, "unusable": 0, "duplicate": 0}
    rows: list[dict[str, Any]] = []
    for index, rid, row, rec, item in join(records, lab, counts):
        out_rec = rec.get("outputs") or {}
        try:
            when = pd.Timestamp(rec["time"])
            got = {f: rec["inputs"][f][row] for f in inputs.features if f in (rec.get("inputs") or {})}
            if inputs.task == "regression":
                pred = next(v for k, v in out_rec.items() if k != "probabilities" and isinstance(v, list))[row]
            else:
                pred = out_rec["label"][row]
            proba = {f"__proba_{c}": v[row] for c, v in (out_rec.get("probabilities") or {}).items()}
        except (KeyError, IndexError, TypeError, ValueError, StopIteration):
            counts["unusable"] += 1  # a record without time or prediction, or a row it does not hold
            continue
        if pred is None or pred == "[redacted]":
            counts["unusable"] += 1
            continue
        if inputs.task != "regression":
            pred = _captured_label(pred, inputs, capture, rid, rec)
        when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
        rows.append({"__time": when, **got, **proba, "__pred": pred,
                     "__true": _true_label(item[inputs.target], inputs, labels, index), "__id": rid})
        counts["used"] += 1
    if not rows:  # ids that match nothing: the wrong file (or capture folder), not a healthy production
        raise MonitorInputError(f"{labels}: no label matches a captured prediction in {capture} "
                                f"({counts['labels']} labels: {counts['not_captured']} not captured, "
                                f"{counts['unusable']} unusable, {counts['duplicate']} duplicate)")
    return pd.DataFrame(rows), counts


def _window_report(frame: pd.DataFrame, inputs: MonitorInputs, min_rows: int) -> dict[str, Any]:
    import numpy as np
    from mlready.generators._shared.gates import check_gates
    from mlready.generators._shared.scoring import Prediction, score
    from mlready.generators.readiness.drift import data_checks

    if inputs.task == "regression":
        pred = Prediction(values=frame["__pred"].to_numpy(dtype=np.float64))
        scores = score("regression", frame["__true"].to_numpy(dtype=np.float64), pred)
    else:
        names = inputs.class_names or []
        cols = [f"__proba_{c}" for c in names]
        proba = frame[cols].to_numpy(dtype=np.float64) if all(c in frame for c in cols) else None
        if proba is not None and np.isnan(proba).any():
            proba = None
        pred = Prediction(labels=frame["__pred"].astype(str).to_numpy(), proba=proba)
        scores = score("classification", frame["__true"].astype(str).to_numpy(), pred, np.array(names))
    features = [f for f in inputs.features if f in frame.columns]
    drift = data_checks(inputs.reference, frame[features], features, inputs.bins)
    values = {**scores.metrics, **drift["summary"]}
    reasons = {**scores.undefined, **drift["undefined"]}
    gated = len(frame) >= min_rows
    results = check_gates(inputs.gates, values, reasons) if gated else []
    return {
        "rows": len(frame),
        "gated": gated,
        "reason": None if gated else f"{len(frame)} labelled rows, fewer than --min-rows {min_rows}",
        "metrics": {k: (None if v is None else round(float(v), 6)) for k, v in scores.metrics.items()},
        "undefined": scores.undefined,
        "drift": [{"feature": f["feature"], "psi": f["psi"], "psi_level": f["psi_level"], "reason": f["reason"]}
                  for f in drift["features"]],
        "drift_summary": drift["summary"],
        "gates": [r.to_json() for r in results],
        "passed": all(r.passed for r in results),
    }


def monitor(frame: pd.DataFrame, counts: dict[str, int], inputs: MonitorInputs, window: pd.Timedelta,
            min_rows: int, window_text: str | None = None) -> dict[str, Any]:
    """The JSON report: per window (its start, end, metrics, drift per feature, gates) and the verdict."""
    windows = []
    if len(frame):
        for start, part in frame.groupby(frame["__time"].dt.floor(window), sort=True):
            rep = _window_report(part, inputs, min_rows)
            windows.append({"start": start.isoformat(), "end": (start + window).isoformat(), **rep})
    failing = [w for w in windows if w["gated"] and not w["passed"]]
    return {
        "task": inputs.task,
        "window": window_text or str(window),
        "min_rows": min_rows,
        "gates": [g.text for g in inputs.gates],
        "join": counts,
        "windows": windows,
        "failing_windows": [w["start"] for w in failing],
        "failing_gates": sorted({g["gate"] for w in failing for g in w["gates"] if not g["passed"]}),
        "passed": not failing,
    }


def write_report(report: dict[str, Any], html: str, out: Path) -> tuple[Path, Path]:
    """monitor.json and monitor.html in ``out``, each written whole or not at all."""
    from mlready.engine.writer import atomic_write_text

    text = report_json(report)  # serialised first: a report that cannot be written leaves nothing behind
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "monitor.json", out / "monitor.html"
    atomic_write_text(paths[1], html)
    atomic_write_text(paths[0], text)
    return paths


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=_json_default, allow_nan=False) + "\n"


def load_inputs(spec: Any, project: Path, signature: Path | None) -> MonitorInputs:
    """What the report needs from the spec (target, gates, the training reference) and the built signature."""
    from mlready.engine.errors import StepError, UsageError
    from mlready.generators._shared.data import read_table

    if not spec.data.train or not spec.data.target:
        raise UsageError("mlready monitor compares production with the training data: the spec needs data.train "
                         "and data.target")
    sig = json.loads(signature.read_text()) if signature is not None and signature.is_file() else {}
    try:
        reference = read_table(project / spec.data.train, f"data.train ({spec.data.train})")
    except StepError as exc:
        raise UsageError(str(exc)) from None
    features = [f["name"] for f in sig.get("features") or []] or list(sig.get("feature_names") or []) or [
        c for c in reference.columns if c != spec.data.target]
    task = sig.get("task") or ("classification" if reference[spec.data.target].dtype.kind in "biuO" else "regression")
    classes = [str(c) for c in sig.get("classes") or []] or None
    names = [str(c) for c in sig.get("class_names") or []] or classes
    readiness = spec.section("readiness")
    return MonitorInputs(task=task, class_names=names if task == "classification" else None,
                         classes=classes if task == "classification" else None, features=features,
                         target=spec.data.target, reference=reference, gates=production_gates(readiness),
                         bins=readiness.drift.bins)
