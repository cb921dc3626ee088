"""``mlready monitor``: production quality offline, per time window, from capture files and late labels.

The capture records (the server's or ``mlready score --capture``'s format) are joined with their labels by the
retrain loop's own join (:func:`mlready.generators._shared.production_data.join`): the feedback records in the
capture files (the labels the server's feedback API accepted, of the served model), a label file (CSV or
Parquet: ``request_id``, the spec's target column, ``[row]``), or both — for the same request and row the
label file's wins, and among feedback records the earliest posted
(:class:`~mlready.generators._shared.production_data.LabelRows`); the other is counted as a duplicate. Each
window of ``window`` (by the record's ``time``) is scored
like the build scores its evaluation data (:mod:`mlready.generators._shared.scoring`) and its feature columns
compared with the training reference (``data.train``) by the readiness drift check
(:func:`mlready.generators.readiness.drift.data_checks`). The production gates are the spec's gates that can be
measured on production rows: the model metrics of ``readiness.gates`` (cv, parity and champion gates are
build-only) and every ``readiness.sample.gates`` entry. A window with fewer than ``min_rows`` labelled rows is
reported, not gated. Bad input raises :class:`MonitorInputError` (exit 2) naming the file, row and column.
"""

from __future__ import annotations

import contextlib
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
    model: str | None = None  # the served model's name: only its feedback records are labels (None: any model's)


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


def _true_label(value: Any, inputs: MonitorInputs, labels: Any, index: int) -> Any:
    """The label file's value as the capture writes predictions (a class name, or a float); checked as the
    retrain loop's gather stage checks it (:mod:`mlready.generators._shared.production_data`)."""
    from mlready.generators._shared.production_data import GatherError, class_label, number_label

    try:
        if inputs.task == "regression":
            return number_label(value, labels, index, inputs.target)
        return class_label(value, inputs.class_names or [], inputs.classes or [], labels, index, inputs.target)
    except GatherError as exc:
        raise MonitorInputError(str(exc)) from None


def _class_name(value: Any, inputs: MonitorInputs) -> str | None:
    """A captured class (a label, a probability key) as one of the model's class names (a class value captured
    before the build named its classes maps to its name); None when it is not one."""
    text = str(value)
    names, raw = inputs.class_names or [], inputs.classes or []
    if text in names:
        return text
    if text in raw and len(raw) == len(names):
        return names[raw.index(text)]
    return None


def _captured_label(value: Any, inputs: MonitorInputs, capture: Path, rid: str, rec: dict[str, Any]) -> str:
    """A captured predicted label as one of the model's class names; anything else means the capture is of
    another model."""
    name = _class_name(value, inputs)
    if name is not None:
        return name
    from mlready.generators._shared.production_data import short

    raise MonitorInputError(
        f"{capture}: request {rid!r} (model {rec.get('model')!r}, version {rec.get('version')!r}): the captured "
        f"prediction {short(str(value))} is not a class of the model this project builds (classes: "
        f"{', '.join(inputs.class_names or [])}); monitor the capture of this project's model")


#: a probability a little outside 0..1 is float rounding (a float32 softmax sums to 1.0000001)
_SLACK = 1e-6


def _probabilities(value: Any, row: int, inputs: MonitorInputs, capture: Path, rid: str) -> dict[str, float]:
    """``__proba_<class name>`` -> the row's probability, from the captured ``probabilities``: one list per
    class name (the server's form), or one list of the classes' probabilities per row (a model whose
    probabilities the class names do not fit); {} when redacted or absent. A value that is not a probability is
    a MonitorInputError naming the capture, request, row and class."""
    from mlready.generators._shared.production_data import REDACTED, Unusable, cell, short

    names = inputs.class_names or []

    def probability(p: Any, name: str) -> float:
        if p is None:  # JSON null: NaN written by the model
            return math.nan
        if isinstance(p, int | float) and not isinstance(p, bool) and -_SLACK <= p <= 1 + _SLACK:
            return float(p)
        raise MonitorInputError(f"{capture}: request {rid!r}: row {row}, the probability of class {name!r}: "
                                f"{short(p)} is not a probability (a number from 0 to 1)")

    if value is None:
        return {}
    if isinstance(value, dict):
        out = {}
        for key, column in value.items():
            name = _class_name(key, inputs)
            if name is not None:  # another key is not read (the label check names a capture of another model)
                out[f"__proba_{name}"] = probability(cell(column, row, f"'probabilities' of class {key!r}",
                                                          capture, rid), name)
        return out
    if isinstance(value, list):
        if row >= len(value):
            raise Unusable
        per_row = value[row]
        if per_row is None or per_row == REDACTED:  # serving.capture.redact
            return {}
        if isinstance(per_row, list) and len(per_row) == len(names):
            return {f"__proba_{n}": probability(p, n) for n, p in zip(names, per_row, strict=True)}
        raise MonitorInputError(f"{capture}: request {rid!r}: row {row}, 'probabilities': {short(per_row)} is not "
                                f"one probability per class ({', '.join(names)})")
    raise MonitorInputError(f"{capture}: request {rid!r}: 'probabilities' is {short(value)}, not an object of one "
                            "list per class")


def _captured_row(rec: dict[str, Any], row: int, inputs: MonitorInputs, capture: Path,
                  rid: str) -> dict[str, Any]:
    """The record's row ``row``: its time, features, ``__pred`` and ``__proba_<c>``, every value checked where it
    is read. Unusable (counted) when the record lacks the time or the prediction, or does not hold the row, or
    its prediction is redacted; MonitorInputError (or GatherError) naming the capture, request, row and value
    when a value is of the wrong type."""
    import pandas as pd
    from mlready.generators._shared.production_data import (
        LARGEST,
        REDACTED,
        Unusable,
        cell,
        record_object,
        sane,
        scalar,
        short,
        to_float,
    )

    outputs = record_object(rec, "outputs", capture, rid)
    features = record_object(rec, "inputs", capture, rid)
    if "time" not in rec:
        raise Unusable
    stamp = rec["time"]
    try:
        when = pd.Timestamp(stamp) if isinstance(stamp, str) else None
    except (ValueError, TypeError, OverflowError):
        when = None
    if when is None or pd.isna(when):
        raise MonitorInputError(f"{capture}: request {rid!r}: 'time' is {short(stamp)}, not a date and time "
                                "(2026-12-06T04:30:00.000000Z)")
    if inputs.task == "regression":
        key = next((k for k, v in outputs.items() if k != "probabilities" and v is not None), None)
        if key is None:
            raise Unusable
        pred = cell(outputs[key], row, f"the output {key!r}", capture, rid)
        if pred is None or pred == REDACTED:
            raise Unusable
        number = to_float(pred, text=False)
        if not sane(number):
            why = "not a number" if number is None else f"not a finite number of at most {LARGEST:g} in size"
            raise MonitorInputError(f"{capture}: request {rid!r}: row {row}, the output {key!r}: {short(pred)} is "
                                    f"{why} (a regressor's prediction)")
        pred = number
    else:
        if outputs.get("label") is None:
            raise Unusable
        pred = cell(outputs["label"], row, "the output 'label'", capture, rid)
        if pred is None or pred == REDACTED:
            raise Unusable
        pred = _captured_label(pred, inputs, capture, rid, rec)
    got = {f: scalar(cell(features[f], row, f"the input {f!r}", capture, rid), row, f"the input {f!r}", capture, rid)
           for f in inputs.features if f in features}
    proba = _probabilities(outputs.get("probabilities"), row, inputs, capture, rid)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    return {"__time": when, **got, **proba, "__pred": pred}


def joined_rows(capture: Path, labels: Path | None, inputs: MonitorInputs) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per labelled captured prediction: time, the features, ``__pred``, ``__true``, ``__proba_<c>``. The
    labels: the label file ``labels`` (when given) and the feedback records in ``capture`` (of ``inputs.model``);
    neither is a MonitorInputError saying where labels come from."""
    import pandas as pd
    from mlready.generators._shared.production_data import (
        GatherError,
        LabelRows,
        Unusable,
        join,
        read_capture,
        read_feedback,
        read_labels,
    )

    try:
        lab = read_labels(labels, inputs.target)
        feedback = read_feedback(capture)  # a first pass: which predictions the feedback labels
        given = LabelRows(labels, lab, feedback, inputs.target, inputs.model)
        given.require(capture, "--labels")
    except GatherError as exc:
        raise MonitorInputError(str(exc)) from None
    counts = given.counts()
    rows: list[dict[str, Any]] = []
    try:
        records = read_capture(capture, keep=given.ids())  # only labelled records held
        for index, rid, row, rec, item in join(records, given, counts, given, capture):
            try:
                got = _captured_row(rec, row, inputs, capture, rid)
            except Unusable:  # a record without time or prediction, or a row it does not hold
                counts["unusable"] += 1
                continue
            rows.append({**got, "__true": _true_label(item[inputs.target], inputs, given, index), "__id": rid})
            counts["used"] += 1
    except GatherError as exc:
        raise MonitorInputError(str(exc)) from None
    if not rows:  # ids that match nothing: the wrong file (or capture folder), not a healthy production
        source = f"{labels}: no label matches" if labels is not None else f"{capture}: no feedback label matches"
        raise MonitorInputError(f"{source} a captured prediction in {capture} "
                                f"({counts['labels']} labels, {counts['feedback']} from feedback records: "
                                f"{counts['not_captured']} not captured, {counts['unusable']} unusable, "
                                f"{counts['duplicate']} duplicate){given.hidden_note()}")
    return pd.DataFrame(rows), counts


#: the rows a PSI bin needs on average before the window's drift reads as more than sampling noise
ROWS_PER_BIN = 10


def _window_report(frame: pd.DataFrame, inputs: MonitorInputs, min_rows: int) -> dict[str, Any]:
    import numpy as np
    from mlready.generators._shared.gates import check_gates
    from mlready.generators._shared.scoring import Prediction, score
    from mlready.generators.readiness.drift import data_checks

    if inputs.task == "regression":
        pred = Prediction(values=frame["__pred"].to_numpy(dtype=np.float64))
        with np.errstate(over="ignore", invalid="ignore"):  # a metric that overflows is undefined, below
            scores = score("regression", frame["__true"].to_numpy(dtype=np.float64), pred)
    else:
        names = inputs.class_names or []
        cols = [f"__proba_{c}" for c in names]
        proba = frame[cols].to_numpy(dtype=np.float64) if all(c in frame for c in cols) else None
        if proba is not None and np.isnan(proba).any():
            proba = None
        pred = Prediction(labels=frame["__pred"].astype(str).to_numpy(), proba=proba)
        scores = score("classification", frame["__true"].astype(str).to_numpy(), pred, np.array(names))
    metrics: dict[str, float | None] = {}
    undefined = dict(scores.undefined)
    for name, value in scores.metrics.items():
        if value is not None and not math.isfinite(float(value)):  # overflowed: not a number a gate can read
            undefined[name] = f"{name} is not a finite number ({value}): the values are too large to score"
            value = None
        metrics[name] = value
    features = [f for f in inputs.features if f in frame.columns]
    drift = data_checks(inputs.reference, frame[features], features, inputs.bins)
    values = {**metrics, **drift["summary"]}
    reasons = {**undefined, **drift["undefined"]}
    gated = len(frame) >= min_rows
    results = check_gates(inputs.gates, values, reasons) if gated else []
    return {
        "rows": len(frame),
        "gated": gated,
        "reason": None if gated else f"{len(frame)} labelled rows, fewer than --min-rows {min_rows}",
        "metrics": {k: (None if v is None else round(float(v), 6)) for k, v in metrics.items()},
        "undefined": undefined,
        "drift": [{"feature": f["feature"], "psi": f["psi"], "psi_level": f["psi_level"], "reason": f["reason"]}
                  for f in drift["features"]],
        "drift_summary": drift["summary"],
        # PSI over few rows a bin reads noise as drift (40 in-distribution rows over 10 bins: PSI above 1)
        "drift_note": (f"{len(frame)} rows over {inputs.bins} bins a feature: PSI from fewer than "
                       f"{ROWS_PER_BIN} rows a bin is mostly noise" if len(frame) < ROWS_PER_BIN * inputs.bins
                       else None),
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
    from mlready.generators.readiness.drift import SIGNIFICANT

    failing = [w for w in windows if w["gated"] and not w["passed"]]
    return {
        "task": inputs.task,
        "window": window_text or str(window),
        "min_rows": min_rows,
        "psi_significant": SIGNIFICANT,  # a feature's psi_level is "significant" above it
        "gates": [g.text for g in inputs.gates],
        "join": counts,
        "windows": windows,
        "failing_windows": [w["start"] for w in failing],
        "failing_gates": sorted({g["gate"] for w in failing for g in w["gates"] if not g["passed"]}),
        "passed": not failing,
    }


def write_report(report: dict[str, Any], html: str, out: Path) -> tuple[Path, Path]:
    """monitor.json and monitor.html in ``out``, both or neither: both are written to temporary files first, then
    renamed into place together. A write that fails (a full disk, an ``out`` that is not a folder) is a
    MonitorInputError naming ``out``, and leaves no temporary file and no folder it created behind."""
    from mlready.engine.writer import replace_together, write_temp_text

    text = report_json(report)  # serialised first: a report that cannot be written leaves nothing behind
    paths = out / "monitor.json", out / "monitor.html"
    created = next((p for p in reversed([out, *out.parents]) if not p.exists()), None)  # the first folder made
    temps: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, content in ((paths[1], html), (paths[0], text)):
            temps.append(write_temp_text(path, content))
        replace_together(list(zip(temps, (paths[1], paths[0]), strict=True)))  # monitor.json, the verdict, last
    except OSError as exc:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        if created is not None:
            for folder in [out, *out.parents]:  # the folders this call made, if still empty
                with contextlib.suppress(OSError):
                    folder.rmdir()
                if folder == created:
                    break
        raise MonitorInputError(f"--out {out}: cannot write monitor.json and monitor.html: "
                                f"{exc.strerror or exc} (nothing written)") from None
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
                         bins=readiness.drift.bins, model=sig.get("name") or spec.model_name)
