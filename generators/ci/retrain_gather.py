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
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

REDACTED = "[redacted]"
FEEDBACK = "feedback"  # the ``kind`` of a feedback record (a prediction record has no kind)
#: the largest magnitude a regression label or prediction may have: float64 ends at 1.8e308, and the squared
#: errors of rmse and r2 summed over the rows must stay finite
LARGEST = 1e100


class GatherError(Exception):
    """Bad input, named by file (and line or column)."""


class Unusable(Exception):
    """A capture record that does not hold the labelled row's value (counted as unusable, not an error)."""


def read_table(path: Path, what: str = "table") -> pd.DataFrame:
    if not path.is_file():
        raise GatherError(f"{path}: not found")
    try:
        # request ids are text: a client's X-Request-Id "00042" must not be read as the number 42
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"request_id": str})
    except Exception as exc:  # a damaged CSV / Parquet file, or one that is not UTF-8 text
        raise GatherError(f"{path}: not a readable {what}: {type(exc).__name__}: {exc}") from None


def _capture_lines(folder: Path) -> Iterator[tuple[Path, int, str]]:
    """(file, line number, line) of every non-blank line of the ``*.jsonl`` files under ``folder`` (or of the
    one file ``folder``). A folder whose name ends in ``.jsonl`` is a folder (its files are read), not a capture
    file."""
    try:
        if folder.is_file():  # one capture file (mlready monitor --capture FILE)
            files = [folder]
        elif folder.is_dir():
            files = sorted(p for p in folder.rglob("*.jsonl") if not p.is_dir())
        else:
            raise GatherError(f"{folder}: not a folder of capture files")
    except OSError as exc:
        raise GatherError(f"{folder}: cannot list the capture files: {exc.strerror or exc}") from None
    for path in files:
        try:
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        yield path, n, line
        except UnicodeDecodeError as exc:
            raise GatherError(f"{path}: a capture file that is not UTF-8 text ({exc})") from None
        except OSError as exc:  # a dangling link, a file that cannot be read
            why = "a link to nothing" if path.is_symlink() and not path.exists() else exc.strerror or str(exc)
            raise GatherError(f"{path}: cannot read the capture file: {why}") from None


def _record(path: Path, n: int, line: str) -> tuple[str, dict[str, Any]]:
    """(request id, record) of a capture line; a GatherError naming the file and line when it is not one."""
    try:
        rec = json.loads(line)
        if not isinstance(rec, dict):
            raise TypeError(f"a JSON {type(rec).__name__}, not an object")
        return str(rec["id"]), rec
    except (ValueError, KeyError, TypeError) as exc:
        raise GatherError(f"{path}:{n}: not a capture record ({exc})") from None


def _is_feedback(rec: dict[str, Any], path: Path, n: int) -> bool:
    kind = rec.get("kind")
    if kind is None:
        return False
    if kind != FEEDBACK:
        raise GatherError(f"{path}:{n}: not a capture record ('kind' is {short(kind)}: a prediction record has no "
                          f"kind, a feedback record {FEEDBACK!r})")
    return True


def read_capture(folder: Path, keep: set[str] | None = None,
                 feedback: list[FeedbackRecord] | None = None) -> dict[str, dict[str, Any]]:
    """request id -> prediction record, from every ``*.jsonl`` under ``folder`` (a malformed line names file and
    line); with ``keep``, only the records of those ids are held (memory grows with the labels, not the
    capture). Feedback records are not predictions: with ``feedback``, they are checked and appended to it (see
    :func:`read_feedback`), else left out."""
    records: dict[str, dict[str, Any]] = {}
    for path, n, line in _capture_lines(folder):
        rid, rec = _record(path, n, line)
        if _is_feedback(rec, path, n):
            if feedback is not None:
                feedback.append(FeedbackRecord.of(rec, path, n))
        elif keep is None or rid in keep:
            records[rid] = rec
    return records


@dataclass(frozen=True)
class FeedbackRecord:
    """A feedback record (the server's true labels for one request, ``runtime/README.md``), checked where it is
    read; ``values`` None when the server's capture dropped them (``key`` None then)."""

    path: Path
    line: int
    id: str
    time: datetime  # UTC
    model: str
    rows: int
    key: str | None  # "label" (a classifier's class names) or "value" (a regression model's numbers)
    values: list[Any] | None

    @classmethod
    def of(cls, rec: dict[str, Any], path: Path, n: int) -> FeedbackRecord:
        def bad(what: str) -> GatherError:
            return GatherError(f"{path}:{n}: not a feedback record: {what}")

        rid, model, stamp, rows = rec.get("id"), rec.get("model"), rec.get("time"), rec.get("rows")
        if not isinstance(rid, str) or not rid:
            raise bad(f"'id' is {short(rid)}, not a request id")
        if not isinstance(model, str) or not model:
            raise bad(f"'model' is {short(model)}, not a model name")
        when = None
        if isinstance(stamp, str):
            try:
                when = datetime.fromisoformat(stamp)
            except ValueError:
                when = None
        if when is None:
            raise bad(f"'time' is {short(stamp)}, not a date and time (2026-12-06T04:30:00.000000Z)")
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            raise bad(f"'rows' is {short(rows)}, not a count of rows")
        keys = [k for k in ("label", "value") if k in rec]
        if len(keys) > 1:
            raise bad("it holds both 'label' and 'value' (a classifier's labels, or a regression model's values)")
        key = keys[0] if keys else None
        values = rec[key] if key else None
        if key is not None:
            if not isinstance(values, list) or len(values) != rows:
                raise bad(f"{key!r} is {short(values)}, not a list of one {key} per row ('rows': {rows})")
            for j, v in enumerate(values):
                if isinstance(v, bool) or not isinstance(v, str | int | float):
                    raise bad(f"{key}[{j}] is {short(v)}, not a {key}")
        return cls(path, n, rid, when, model, rows, key, values)


def read_feedback(folder: Path) -> list[FeedbackRecord]:
    """The feedback records under ``folder`` (every ``*.jsonl``), checked: a malformed one is a GatherError naming
    the file and line. Only the lines that can hold a ``kind`` key are parsed (the text ``"kind"``, or a ``\\u``
    escape that could spell it): a folder of predictions is read at the speed of a text search."""
    out = []
    for path, n, line in _capture_lines(folder):
        if '"kind"' in line or "\\u" in line:
            _, rec = _record(path, n, line)
            if _is_feedback(rec, path, n):
                out.append(FeedbackRecord.of(rec, path, n))
    return out


class LabelRows:
    """The labels to join, in order of precedence: the label file's rows (in its order), then the feedback
    records' labels, earliest posted first (the server joins a request's first label and counts later ones as
    duplicates), each ``{"request_id", "row", <target>}``. A label for a (request, row) already seen is a
    duplicate (:func:`join`): the label file's word wins over the server's feedback. Feedback records of another
    model than ``model`` (when given) are left out (``other_models`` counts them), and so are labels the server's
    capture redacted or dropped (``hidden`` counts them: unusable). :meth:`where` names a label's place."""

    def __init__(self, file: Path | None, table: pd.DataFrame | None, feedback: list[FeedbackRecord], target: str,
                 model: str | None = None):
        self.file = file
        self.items: list[dict[str, Any]] = table.to_dict("records") if table is not None else []
        self.file_rows = len(self.items)
        self.places: list[tuple[FeedbackRecord, int]] = []
        self.feedback = self.hidden = 0
        self.other_models: dict[str, int] = {}
        for rec in sorted(feedback, key=lambda r: r.time):  # stable: a call's records keep their order
            if model is not None and rec.model != model:
                self.other_models[rec.model] = self.other_models.get(rec.model, 0) + 1
                continue
            self.feedback += rec.rows
            if rec.values is None:  # dropped by the server's capture (serving.capture.drop)
                self.hidden += rec.rows
                continue
            for j, value in enumerate(rec.values):
                if value == REDACTED:
                    self.hidden += 1
                    continue
                self.items.append({"request_id": rec.id, "row": j, target: value})
                self.places.append((rec, j))

    def where(self, index: int, column: str) -> str:
        if index < self.file_rows:
            assert self.file is not None
            at = f"line {index + 2}" if self.file.suffix.lower() == ".csv" else f"row {index}"
            return f"{self.file}: {at}, column {column!r}"
        rec, j = self.places[index - self.file_rows]
        return f"{rec.path}:{rec.line}: feedback for request {rec.id!r}, {rec.key}[{j}]"

    def ids(self) -> set[str]:
        return {str(item["request_id"]) for item in self.items}

    def counts(self) -> dict[str, int]:
        """The join's counts before the join: every label read, those from feedback records, the hidden ones."""
        return {"labels": len(self.items) + self.hidden, "feedback": self.feedback, "used": 0, "not_captured": 0,
                "unusable": self.hidden, "duplicate": 0}

    def no_labels(self, capture: Path, option: str) -> str:
        """Why there is nothing to join when no label file was given, and where labels come from."""
        others = ""
        if self.other_models:
            names = ", ".join(sorted(self.other_models)[:5])
            others = (f" of this model ({sum(self.other_models.values())} are of other models: {names}; the capture "
                      "of a server that serves several models holds them all)")
        return (f"no labels: no label file was given and {capture} holds no feedback records{others}. Labels come "
                f"from a label file ({option}: CSV/Parquet with request_id, the target column, [row]) or from the "
                "server's feedback API (POST /v2/models/<name>/feedback, gRPC mlready.v1.Feedback/Send), which "
                "writes a feedback record into the capture files for every label when serving.capture and "
                "serving.feedback are both on")

    def hidden_note(self) -> str:
        return (f"; {self.hidden} feedback labels are redacted or dropped (serving.capture.redact / drop names the "
                "model's prediction output, and its true label is hidden with it)") if self.hidden else ""


# -- the label file's values, checked where they are read (mlready monitor reads its labels with these too) ------

def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def label_error(labels: Path | LabelRows | None, index: int, column: str, why: str) -> GatherError:
    """``<file>: line N, column 'c': why`` (CSV: the file's line; Parquet: the 0-based row); a feedback record's
    label: ``<capture file>:<line>: feedback for request 'r', label[j]: why``."""
    if isinstance(labels, LabelRows):
        return GatherError(f"{labels.where(index, column)}: {why}")
    if labels is None:
        return GatherError(f"label row {index}, column {column!r}: {why}")
    where = f"line {index + 2}" if labels.suffix.lower() == ".csv" else f"row {index}"
    return GatherError(f"{labels}: {where}, column {column!r}: {why}")


def to_float(value: Any, text: bool = True) -> float | None:
    """A number (with ``text``, a number's text too) as a float (inf when too large for one); None when it is
    not one (a boolean, a list, other text)."""
    import numpy as np

    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if isinstance(value, float | np.floating):
        return float(value)
    if text and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def sane(number: float | None) -> bool:
    """A finite number no larger than :data:`LARGEST` in size."""
    return number is not None and math.isfinite(number) and abs(number) <= LARGEST


def number_label(value: Any, labels: Path | LabelRows | None, index: int, column: str) -> float:
    """A regression label: a finite number of a sane size (or its text)."""
    if missing(value):
        raise label_error(labels, index, column, "no label")
    number = to_float(value)
    if number is None:
        raise label_error(labels, index, column, f"{short(value)} is not a number")
    if not sane(number):
        raise label_error(labels, index, column, f"{short(value)} is not a finite number of at most {LARGEST:g} "
                                                 "in size")
    return number


def class_text(value: Any) -> str:
    """A class as text: 1, 1.0 (a CSV column with gaps reads 1 as 1.0) and "1" are the class "1"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def class_label(value: Any, names: list[str], raw: list[str], labels: Path | LabelRows | None, index: int,
                column: str) -> str:
    """A classifier's label as one of ``names`` (written as its raw class ``raw[i]``, it is ``names[i]``)."""
    if missing(value):
        raise label_error(labels, index, column, "no label")
    text = class_text(value)
    if text in names:
        return text
    if text in raw and len(raw) == len(names):
        return names[raw.index(text)]
    raise label_error(labels, index, column, f"{short(text)} is not a class of the model (classes: {', '.join(names)})")


def label_row(value: Any, labels: Path | LabelRows | None, index: int) -> int:
    """The label's ``row``: a request's 0-based row (no value: 0)."""
    import numpy as np

    if missing(value):
        return 0
    row: int | None = None
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        row = int(value)
    elif isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer():
        row = int(value)
    elif isinstance(value, str):
        try:
            row = int(value.strip())
        except ValueError:
            number = to_float(value)
            row = int(number) if number is not None and math.isfinite(number) and number.is_integer() else None
    if row is None or row < 0:
        raise label_error(labels, index, "row", f"{short(value)} is not a row of a request (0 for its first "
                                                "row, 1 for the second, ...)")
    return row


def join(records: dict[str, dict[str, Any]], lab: pd.DataFrame | LabelRows, counts: dict[str, int],
         labels: Path | LabelRows | None = None,
         capture: Path | None = None) -> Iterator[tuple[int, str, int, dict[str, Any], dict[str, Any]]]:
    """The labels (a label file's rows, or :class:`LabelRows`) joined with their capture records: (label index,
    request id, row in the request, record, label), counting in ``counts`` labels not captured and duplicate
    (request, row)s: the first label of a (request, row) is joined. A ``row`` that is not a row of its request is
    a GatherError naming where the label came from (``labels``: the label file's line and the column, or the
    feedback record's file and line)."""
    seen: set[tuple[str, int]] = set()
    if isinstance(lab, LabelRows):
        items, labels = lab.items, lab
    else:
        items = lab.to_dict("records")
    for i, item in enumerate(items):
        rid = str(item["request_id"])
        row = label_row(item.get("row"), labels, i)
        rec = records.get(rid)
        if rec is None:
            counts["not_captured"] += 1
            continue
        size = rec.get("rows")
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise GatherError(f"{capture or 'capture'}: request {rid!r}: 'rows' is {short(size)}, not a count "
                                  "of rows")
            if row >= size:
                raise label_error(labels, i, "row", f"{row} is not a row of request {rid!r}, which has {size} "
                                                    f"row{'' if size == 1 else 's'}")
        if (rid, row) in seen:
            counts["duplicate"] += 1
            continue
        seen.add((rid, row))
        yield i, rid, row, rec, item


# -- the capture record's values, checked where they are read --------------------------------------------------

def record_object(rec: dict[str, Any], key: str, capture: Path, rid: str) -> dict[str, Any]:
    """The record's ``inputs`` or ``outputs``: an object ({} when absent)."""
    value = rec.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GatherError(f"{capture}: request {rid!r}: {key!r} is {short(value)}, not an object")
    return value


def cell(column: Any, row: int, what: str, capture: Path, rid: str) -> Any:
    """Row ``row`` of a captured column (a list, one value per row); Unusable when the list is shorter."""
    if not isinstance(column, list):
        raise GatherError(f"{capture}: request {rid!r}: {what} is {short(column)}, not a list of one value per row")
    if row >= len(column):
        raise Unusable
    return column[row]


def scalar(value: Any, row: int, what: str, capture: Path, rid: str) -> Any:
    """A captured feature value: a number, a text, a boolean or null (never a list or an object)."""
    if value is not None and not isinstance(value, str | int | float):
        raise GatherError(f"{capture}: request {rid!r}: row {row}, {what}: {short(value)} is not a value "
                          "(a number or a text)")
    return value


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
    lab = None
    if labels is not None:
        lab = read_table(labels, "label file")
        for column in ("request_id", target):
            if column not in lab.columns:
                raise GatherError(f"{labels}: no column {column!r} (columns: {', '.join(map(str, lab.columns))})")
    given = LabelRows(labels, lab, feedback, target, model)
    if labels is None and not given.items and not given.hidden:
        raise GatherError(given.no_labels(capture, "--labels, pipeline.retrain.labels in the spec"))
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
