"""Production data as the model server writes it, read and checked in one place: the capture files
(``*.jsonl`` under a folder, the prediction records: ``id``, ``rows``, ``inputs`` and ``outputs`` by name),
the feedback records in them (``"kind": "feedback"``: the true labels the server's feedback API accepted),
a label file (CSV or Parquet: ``request_id``, the target column, ``[row]``) and the join of the labels with
their captured requests.

The retrain pipeline's gather stage (``ci/retrain_gather.py``) and ``mlready monitor``
(``engine/actions/monitor.py``) both read production data with these::

    read_feedback(capture) -> [FeedbackRecord]
    read_capture(capture, keep=ids) -> {request id: prediction record}
    LabelRows(label_file, table, feedback, target, model) -> the labels, in order of precedence
    join(records, label_rows, counts) -> (label index, request id, row, record, label), ...

Bad input is a :class:`GatherError` naming the file, its line (or request and row) and the column; a record
that does not hold the labelled row's value is :class:`Unusable` (counted by the caller, not an error). For
the same request and row the label file's label wins over a feedback record's, and among feedback records the
earliest posted (:class:`LabelRows`); the other is a duplicate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
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


def read_labels(labels: Path | None, target: str) -> pd.DataFrame | None:
    """The label file (None when none is given), its ``request_id`` and target columns checked."""
    if labels is None:
        return None
    lab = read_table(labels, "label file")
    for column in ("request_id", target):
        if column not in lab.columns:
            raise GatherError(f"{labels}: no column {column!r} (columns: {', '.join(map(str, lab.columns))})")
    return lab


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
            return _file_place(self.file, index, column)
        rec, j = self.places[index - self.file_rows]
        return f"{rec.path}:{rec.line}: feedback for request {rec.id!r}, {rec.key}[{j}]"

    def ids(self) -> set[str]:
        return {str(item["request_id"]) for item in self.items}

    def counts(self) -> dict[str, int]:
        """The join's counts before the join: every label read, those from feedback records, the hidden ones."""
        return {"labels": len(self.items) + self.hidden, "feedback": self.feedback, "used": 0, "not_captured": 0,
                "unusable": self.hidden, "duplicate": 0}

    def require(self, capture: Path, option: str) -> None:
        """A GatherError (:meth:`no_labels`) when no label file was given and ``capture`` holds no labels."""
        if self.file is None and not self.items and not self.hidden:
            raise GatherError(self.no_labels(capture, option))

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
    return GatherError(f"{_file_place(labels, index, column)}: {why}")


def _file_place(labels: Path, index: int, column: str) -> str:
    """``<file>: line N, column 'c'`` for the label file's row ``index`` (CSV: its line; Parquet: the row)."""
    where = f"line {index + 2}" if labels.suffix.lower() == ".csv" else f"row {index}"
    return f"{labels}: {where}, column {column!r}"


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
