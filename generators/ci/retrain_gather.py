"""The retrain pipeline's ``gather`` stage: captured production rows joined with their late labels, written as
the next training set (run by DVC: ``python -m mlready.generators.ci.retrain_gather ...``, see ``retrain.py``).

Inputs: the capture files (``*.jsonl`` under a folder, the server's record format: ``id``, ``rows``, ``inputs``
by feature name) and the labels: the feedback records in those files (``"kind": "feedback"``, written by the
server for every label its feedback API accepted), a label file (CSV or Parquet) with ``request_id``, the target
column and, for requests of several rows, ``row`` (0-based; default 0), or both. A label for the same request and
row from both is a duplicate: the label file's wins (it is the labelling process's word); among feedback records
the earliest posted wins, as on the server. Output: the base training set (when given) followed by one row per
label whose request was captured, in the base's column order. Labels of requests that were not captured, rows
with a redacted or missing feature (or a redacted label) and duplicate labels are counted and reported, never
guessed. A label is checked as ``mlready monitor`` checks it (a class of the served model, or a regressor's
number; a ``row`` that is a row of its request), and so is every captured value read: bad input is exit 2 naming
the file, its line (or request and row) and the column, with nothing written. The file is written atomically.

The capture, feedback and label readers and their checks are ``_shared/production_data.py``'s (``mlready
monitor`` reads with them too).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from mlready.generators._shared.production_data import (
    REDACTED,
    FeedbackRecord,
    GatherError,
    LabelRows,
    Unusable,
    cell,
    class_text,
    join,
    label_error,
    missing,
    number_label,
    read_capture,
    read_labels,
    read_table,
    record_object,
    scalar,
    short,
    to_float,
)


def served_classes(records: dict[str, dict[str, Any]]) -> tuple[str | None, list[str]]:
    """What the captured answers say about the model: ("classification", its class names: the probability
    keys, else the labels it answered), ("regression", []), or (None, []) when no record carries answers."""
    task: str | None = None
    names: list[str] = []
    for rec in records.values():
        out = rec.get("outputs")
        if not isinstance(out, dict) or not out:
            continue
        proba = next((out[k] for k in ("probabilities", "output_probability") if k in out), None)
        label = next((out[k] for k in ("label", "output_label") if k in out), None)
        if isinstance(proba, dict) or isinstance(label, list):
            task = "classification"
            keys = list(proba) if isinstance(proba, dict) else []
            answered = [v for v in label if isinstance(v, str | int | float) and v != REDACTED] if isinstance(
                label, list) else []
            for name in [*keys, *map(class_text, answered)]:
                if name not in names:
                    names.append(str(name))
        elif task is None and any(isinstance(v, list) for v in out.values()):
            task = "regression"
    return task, names


def label_writer(task: str | None, names: list[str], base: pd.DataFrame | None, base_path: Path | None,
                 target: str, labels: Path | LabelRows) -> Callable[[Any, int], Any]:
    """How a label (its value, its row in the label file) is checked and written into the training set, as
    ``mlready monitor`` checks it: a regressor's a finite number; a classifier's one of its classes, the served
    class names (``names``, from the capture) or the base's targets, written as the base writes its classes
    (class names pair with the base's sorted targets when there are as many). A label that is neither is a
    GatherError naming the label file, its line and the column."""
    if task == "regression" or (task is None and base is not None and base[target].dtype.kind in "iuf"):
        def number(value: Any, index: int) -> Any:
            n = number_label(value, labels, index, target)
            return value if to_float(value, text=False) is not None else n  # a number is written as it came
        return number
    if task is None or (not names and base is None):  # nothing says what a label is: only a missing one is refused
        def present(value: Any, index: int) -> Any:
            if missing(value):
                raise label_error(labels, index, target, "no label")
            return value
        return present
    values = [] if base is None else list(pd.unique(base[target].dropna()))
    raw = {class_text(v): v for v in values}
    try:
        ordered: list[Any] = sorted(values)
    except TypeError:
        ordered = []
    paired = dict(zip(names, ordered, strict=True)) if len(ordered) == len(names) else {}
    classes = list(dict.fromkeys([*names, *raw]))

    def klass(value: Any, index: int) -> Any:
        if missing(value):
            raise label_error(labels, index, target, "no label")
        text = class_text(value)
        if text in raw:
            return raw[text]
        if text in names:
            if base is None:
                return value
            if text in paired:
                return paired[text]
            raise label_error(labels, index, target, f"{short(text)} is a class name of the model, but {base_path} "
                                                     f"writes the classes as {', '.join(raw)}: write the label as "
                                                     "the training set does")
        raise label_error(labels, index, target, f"{short(text)} is not a class of the model (classes: "
                                                 f"{', '.join(classes)})")
    return klass


def gather(capture: Path, labels: Path | None, target: str, base: Path | None,
           model: str | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """(the next training set, counts of what was used and left out). The labels: the label file ``labels``
    (when given) and the feedback records in ``capture`` (of ``model`` only, when given); none at all is a
    GatherError saying where labels come from."""
    feedback: list[FeedbackRecord] = []
    records = read_capture(capture, feedback=feedback)
    given = LabelRows(labels, read_labels(labels, target), feedback, target, model)
    given.require(capture, "--labels, pipeline.retrain.labels in the spec")
    frame = read_table(base, "training set") if base is not None else None
    if frame is not None and target not in frame.columns:
        raise GatherError(f"{base}: no target column {target!r}")
    label = label_writer(*served_classes(records), frame, base, target, given)
    counts = given.counts()
    rows: list[dict[str, Any]] = []
    features: list[str] | None = [c for c in frame.columns if c != target] if frame is not None else None
    for index, rid, row, rec, item in join(records, given, counts, given, capture):
        inputs = record_object(rec, "inputs", capture, rid)
        names = features if features is not None else list(inputs)
        absent = [f for f in names if f not in inputs]
        if absent:  # a dropped field (serving.capture.drop): these records cannot train this model
            raise GatherError(f"{capture}: request {rid} has no feature {absent[0]!r} (it captured "
                              f"{', '.join(inputs) or 'nothing'}; serving.capture.drop must keep training features)")
        try:
            values = {f: scalar(cell(inputs[f], row, f"input {f!r}", capture, rid), row, f"input {f!r}", capture,
                                rid) for f in names}
        except Unusable:
            counts["unusable"] += 1
            continue
        if any(v is None or v == REDACTED for v in values.values()):
            counts["unusable"] += 1
            continue
        values[target] = label(item[target], index)
        rows.append(values)
        counts["used"] += 1
    new = pd.DataFrame(rows)
    out = new if frame is None else pd.concat([frame, new.reindex(columns=frame.columns)], ignore_index=True)
    return out, counts


def write_atomic(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        if out.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mlready.generators.ci.retrain_gather", description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--capture", type=Path, required=True,
                   help="folder of capture JSONL files (predictions, and the feedback records of the labels the "
                        "server's feedback API accepted)")
    p.add_argument("--labels", type=Path, default=None,
                   help="CSV/Parquet: request_id, the target, [row]; optional: the feedback records in --capture "
                        "are labels too (a label for the same request and row in both: the file's wins)")
    p.add_argument("--target", required=True, help="the target column")
    p.add_argument("--model", default=None,
                   help="the served model's name: only its feedback records are labels (a capture folder may hold "
                        "several models')")
    p.add_argument("--base", type=Path, default=None, help="training rows to keep (CSV/Parquet)")
    p.add_argument("--out", type=Path, required=True, help="the next training set")
    args = p.parse_args(argv)
    try:
        frame, counts = gather(args.capture, args.labels, args.target, args.base, args.model)
    except GatherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not counts["used"]:
        source = f"matches {args.labels}" if args.labels is not None else "matches a feedback record's label"
        print(f"error: no labelled production row in {args.capture} {source} "
              f"({counts['labels']} labels, {counts['feedback']} from feedback records: {counts['not_captured']} "
              f"not captured, {counts['unusable']} unusable)", file=sys.stderr)
        return 1
    try:
        write_atomic(frame, args.out)
    except OSError as exc:  # a full disk, a folder that cannot be written: nothing is left behind
        print(f"error: {args.out}: cannot write the training set: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(frame)} rows ({counts['used']} labelled production rows added; "
          f"{counts['labels']} labels, {counts['feedback']} from feedback records; left out: "
          f"{counts['not_captured']} not captured, {counts['unusable']} redacted or incomplete, "
          f"{counts['duplicate']} duplicate labels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
