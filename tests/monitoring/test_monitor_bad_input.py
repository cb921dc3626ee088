"""``mlready monitor`` on bad input, without a build: every value read from a capture record or the label file is
checked where it is read, and a wrong one is a MonitorInputError (exit 2) naming the file, its line or request and
row, and the column or value: never an internal error (exit 1, the retrain trigger), never a silent join of the
wrong row. The report is written whole or not at all, also on a full disk."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlready.engine.actions import monitor as mon
from mlready.engine.actions.monitor import MonitorInputError, MonitorInputs, joined_rows

TIME = "2026-12-06T01:10:00.000000Z"


def classifier() -> MonitorInputs:
    return MonitorInputs(task="classification", class_names=["malignant", "benign"], classes=["0", "1"],
                         features=["x"], target="y", reference=pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}),
                         gates=[], bins=10)


def regressor() -> MonitorInputs:
    return MonitorInputs(task="regression", class_names=None, classes=None, features=["x"], target="y",
                         reference=pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0]}), gates=[], bins=10)


def record(**change: Any) -> dict[str, Any]:
    """A classifier's capture record of two rows (the server's format), with ``change`` applied."""
    rec = {"id": "r1", "time": TIME, "model": "m", "version": "1", "rows": 2, "inputs": {"x": [1.0, 2.0]},
           "outputs": {"label": ["malignant", "benign"],
                       "probabilities": {"malignant": [0.9, 0.2], "benign": [0.1, 0.8]}}}
    for key, value in change.items():
        if key.startswith("out_"):
            rec["outputs"][key[4:]] = value  # type: ignore[index]
        else:
            rec[key] = value
    return rec


def write(tmp_path: Path, rec: dict[str, Any], labels: pd.DataFrame | None = None) -> tuple[Path, Path]:
    (tmp_path / "cap.jsonl").write_text(json.dumps(rec) + "\n")
    if labels is None:
        labels = pd.DataFrame({"request_id": ["r1", "r1"], "row": [0, 1], "y": ["malignant", "benign"]})
    labels.to_csv(tmp_path / "l.csv", index=False)
    return tmp_path / "cap.jsonl", tmp_path / "l.csv"


# -- the label file's row: an integer 0..rows-1 --------------------------------------------------------------

@pytest.mark.parametrize("row", ["abc", "inf", "-1", "0.7", "2", "99999999999999999999999"])
def test_a_row_that_is_not_a_row_of_the_request_is_located(tmp_path: Path, row: str) -> None:
    """-1 joined the request's last row (Python's negative index), 0.7 row 0; abc, inf crashed (exit 1)."""
    cap, labels = write(tmp_path, record())
    labels.write_text(f"request_id,row,y\nr1,0,malignant\nr1,{row},benign\n")
    with pytest.raises(MonitorInputError, match=r"l\.csv: line 3, column 'row': "):
        joined_rows(cap, labels, classifier())


def test_a_parquet_row_holding_a_list_is_located(tmp_path: Path) -> None:
    cap, _ = write(tmp_path, record())
    pd.DataFrame({"request_id": ["r1"], "row": [[0]], "y": ["benign"]}).to_parquet(tmp_path / "l.parquet")
    with pytest.raises(MonitorInputError, match=r"l\.parquet: row 0, column 'row': "):
        joined_rows(cap, tmp_path / "l.parquet", classifier())


def test_rows_read_as_floats_or_text_still_join(tmp_path: Path) -> None:
    """A CSV column with a gap reads 1 as 1.0; a gap is row 0."""
    cap, labels = write(tmp_path, record())
    labels.write_text("request_id,row,y\nr1,,malignant\nr1,1.0,benign\n")
    frame, counts = joined_rows(cap, labels, classifier())
    assert counts["used"] == 2 and list(frame["x"]) == [1.0, 2.0]


# -- the capture record's values -------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "expected"), [
    ({"out_probabilities": {"malignant": [0.9, 0.2], "benign": ["x", "y"]}},
     r"row 0, the probability of class 'benign': 'x' is not a probability"),
    ({"out_probabilities": {"malignant": [0.9, 0.2], "benign": "xy"}},
     r"'probabilities' of class 'benign' is 'xy', not a list"),
    ({"out_probabilities": [1, 2]}, r"row 0, 'probabilities': 1 is not one probability per class"),
    ({"out_probabilities": "x"}, r"'probabilities' is 'x', not an object"),
    ({"out_probabilities": {"malignant": [1e308, 0.2], "benign": [0.1, 0.8]}},
     r"row 0, the probability of class 'malignant': 1e\+308 is not a probability"),
    ({"out_probabilities": {"malignant": [True, 0.2], "benign": [0.1, 0.8]}},
     r"row 0, the probability of class 'malignant': True is not a probability"),
    ({"outputs": "x"}, r"'outputs' is 'x', not an object"),
    ({"inputs": [1, 2]}, r"'inputs' is \[1, 2\], not an object"),
    ({"inputs": {"x": "ab"}}, r"the input 'x' is 'ab', not a list"),
    ({"inputs": {"x": [{"a": 1}, 2.0]}}, r"row 0, the input 'x': \{'a': 1\} is not a value"),
    ({"time": "yesterday"}, r"'time' is 'yesterday', not a date and time"),
    ({"time": 1e20}, r"'time' is 1e\+20, not a date and time"),
    ({"rows": "2"}, r"'rows' is '2', not a count"),
])
def test_a_captured_value_of_the_wrong_type_is_located(tmp_path: Path, change: dict[str, Any],
                                                        expected: str) -> None:
    cap, labels = write(tmp_path, record(**change))
    with pytest.raises(MonitorInputError, match=rf"cap\.jsonl: request 'r1': {expected}"):
        joined_rows(cap, labels, classifier())


def test_probabilities_redacted_unnamed_or_by_raw_class_are_read(tmp_path: Path) -> None:
    """serving.capture.redact writes ["[redacted]", ...]; a model whose probabilities the class names do not fit
    writes one list per row; a capture before the build named its classes keys them by the raw class."""
    for proba, expected in (
            (["[redacted]", "[redacted]"], {}),
            ([[0.9, 0.1], [0.2, 0.8]], {"__proba_malignant": [0.9, 0.2], "__proba_benign": [0.1, 0.8]}),
            ({"0": [0.9, 0.2], "1": [0.1, 0.8]}, {"__proba_malignant": [0.9, 0.2], "__proba_benign": [0.1, 0.8]}),
            (None, {})):
        cap, labels = write(tmp_path, record(out_probabilities=proba))
        frame, counts = joined_rows(cap, labels, classifier())
        assert counts["used"] == 2
        assert {c: list(frame[c]) for c in frame if c.startswith("__proba_")} == expected


@pytest.mark.parametrize(("prediction", "expected"), [
    (["abc", 2.0], "'abc' is not a number"), ([True, 2.0], "True is not a number"),
    ([1e308, 2.0], r"1e\+308 is not a finite number of at most 1e\+100"), ("ab", "is 'ab', not a list"),
])
def test_a_regressors_captured_prediction_must_be_a_number(tmp_path: Path, prediction: Any, expected: str) -> None:
    rec = {"id": "r1", "time": TIME, "rows": 2, "inputs": {"x": [1.0, 2.0]}, "outputs": {"prediction": prediction}}
    cap, labels = write(tmp_path, rec, pd.DataFrame({"request_id": ["r1", "r1"], "row": [0, 1], "y": [1.0, 2.0]}))
    with pytest.raises(MonitorInputError, match=rf"cap\.jsonl: request 'r1': .*{expected}"):
        joined_rows(cap, labels, regressor())


@pytest.mark.parametrize("label", ["1e308", "-1e200", "inf", "nan"])
def test_a_regression_label_too_large_to_score_is_located(tmp_path: Path, label: str) -> None:
    """1e308 is finite, but its squared error is not: the report failed to serialise (exit 1)."""
    rec = {"id": "r1", "time": TIME, "rows": 2, "inputs": {"x": [1.0, 2.0]}, "outputs": {"prediction": [1.0, 2.0]}}
    cap, labels = write(tmp_path, rec)
    labels.write_text(f"request_id,row,y\nr1,0,1.5\nr1,1,{label}\n")
    with pytest.raises(MonitorInputError, match=r"l\.csv: line 3, column 'y': "):
        joined_rows(cap, labels, regressor())


def test_a_metric_that_overflows_is_undefined_not_a_broken_report() -> None:
    frame = pd.DataFrame({"__time": pd.Timestamp(TIME), "x": [1.0, 2.0], "__pred": [1e200, -1e200],
                          "__true": [0.0, 1.0]})
    from mlready.generators._shared.gates import eval_catalogue, parse_gate

    inputs = regressor()
    inputs.gates = [parse_gate("rmse <= 5", eval_catalogue())]
    rep = mon._window_report(frame, inputs, min_rows=1)
    assert rep["metrics"]["rmse"] is None and "too large to score" in rep["undefined"]["rmse"]
    assert rep["gates"][0]["passed"] is False
    json.loads(mon.report_json(rep))  # serialisable


# -- feedback records: the labels the server's feedback API accepted, in the capture files -------------------------

def feedback(rid: str, labels: list[Any], at: str = "02:00:00", key: str = "label", **change: Any) -> dict[str, Any]:
    """A feedback record as the server writes it (runtime/README.md), with ``change`` applied."""
    rec = {"id": rid, "time": f"2026-12-06T{at}.000000Z", "kind": "feedback", "model": "m", "outcome": "joined",
           "rows": len(labels), key: labels}
    rec.update(change)
    return rec


def lines(tmp_path: Path, *records: dict[str, Any]) -> Path:
    (tmp_path / "cap.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return tmp_path / "cap.jsonl"


def served(inputs: MonitorInputs) -> MonitorInputs:
    inputs.model = "m"  # the served model's name: only its feedback records are labels
    return inputs


def test_feedback_records_are_the_labels_without_a_label_file(tmp_path: Path) -> None:
    """The earliest label of a request wins (a later one is a duplicate, whatever the order in the file); a raw
    class names its class; a redacted label is unusable; another model's feedback is not this model's label."""
    cap = lines(tmp_path, record(), record(id="r2"),
                feedback("r1", ["benign", "benign"], at="03:00:00", outcome="duplicate"),
                feedback("r1", ["malignant", 1]), feedback("r2", ["[redacted]", "malignant"]),
                feedback("r3", ["benign"], outcome="unknown"), feedback("r2", ["benign", "benign"], model="other"))
    frame, counts = joined_rows(cap, None, served(classifier()))
    assert counts == {"labels": 7, "feedback": 7, "used": 3, "not_captured": 1, "unusable": 1, "duplicate": 2}
    assert list(zip(frame["__id"], frame["__true"], frame["__pred"], strict=True)) == [
        ("r1", "malignant", "malignant"), ("r1", "benign", "benign"), ("r2", "malignant", "benign")]
    assert list(frame["__time"].astype(str)) == ["2026-12-06 01:10:00+00:00"] * 3  # the predictions' time


def test_a_label_file_wins_over_feedback_and_both_are_read(tmp_path: Path) -> None:
    cap, labels = write(tmp_path, record(), pd.DataFrame({"request_id": ["r1"], "row": [1], "y": ["malignant"]}))
    cap.write_text(cap.read_text() + json.dumps(feedback("r1", ["malignant", "benign"])) + "\n")
    frame, counts = joined_rows(cap, labels, served(classifier()))
    assert counts == {"labels": 3, "feedback": 2, "used": 2, "not_captured": 0, "unusable": 0, "duplicate": 1}
    assert sorted(zip(frame["__true"], frame["x"], strict=True)) == [("malignant", 1.0), ("malignant", 2.0)]


def test_a_regressors_feedback_values_are_its_labels(tmp_path: Path) -> None:
    rec = {"id": "r1", "time": TIME, "model": "m", "rows": 2, "inputs": {"x": [1.0, 2.0]},
           "outputs": {"prediction": [1.5, 2.5]}}
    frame, counts = joined_rows(lines(tmp_path, rec, feedback("r1", [1.25, 3], key="value")), None,
                                served(regressor()))
    assert counts["used"] == 2 and list(frame["__true"]) == [1.25, 3.0]
    with pytest.raises(MonitorInputError, match=r"cap\.jsonl:2: feedback for request 'r1', label\[0\]: 'benign' is "
                                                r"not a number"):
        joined_rows(lines(tmp_path, rec, feedback("r1", ["benign", "benign"])), None, served(regressor()))


def test_no_labels_anywhere_names_where_labels_come_from(tmp_path: Path) -> None:
    with pytest.raises(MonitorInputError) as err:
        joined_rows(lines(tmp_path, record()), None, served(classifier()))
    text = str(err.value)
    assert text.startswith(f"no labels: no label file was given and {tmp_path / 'cap.jsonl'} holds no feedback "
                           "records. Labels come from a label file (--labels: CSV/Parquet with request_id, the "
                           "target column, [row]) or from the server's feedback API")
    with pytest.raises(MonitorInputError, match=r"holds no feedback records of this model \(1 are of other models: "
                                                r"other;"):
        joined_rows(lines(tmp_path, record(), feedback("r1", ["benign", "benign"], model="other")), None,
                    served(classifier()))
    with pytest.raises(MonitorInputError, match=r"cap\.jsonl: no feedback label matches a captured prediction .*"
                                                r"2 unusable.*; 2 feedback labels are redacted or dropped"):
        joined_rows(lines(tmp_path, record(), feedback("r1", ["[redacted]"] * 2)), None, served(classifier()))


@pytest.mark.parametrize(("change", "expected"), [
    ({"label": ["benign", "cat"]}, r"cap\.jsonl:2: feedback for request 'r1', label\[1\]: 'cat' is not a class of "
                                   r"the model \(classes: malignant, benign\)"),
    ({"label": ["benign"] * 3, "rows": 3}, r"cap\.jsonl:2: feedback for request 'r1', label\[2\]: 2 is not a row of "
                                           r"request 'r1', which has 2 rows"),
    ({"rows": 3}, r"cap\.jsonl:2: not a feedback record: 'label' is \['benign', 'benign'\], not a list of one label "
                  r"per row \('rows': 3\)"),
    ({"rows": "2"}, r"cap\.jsonl:2: not a feedback record: 'rows' is '2', not a count of rows"),
    ({"label": {"0": "benign"}, "rows": 1}, r"cap\.jsonl:2: not a feedback record: 'label' is \{'0': 'benign'\}"),
    ({"label": ["benign", None]}, r"cap\.jsonl:2: not a feedback record: label\[1\] is None, not a label"),
    ({"time": 12}, r"cap\.jsonl:2: not a feedback record: 'time' is 12, not a date and time"),
    ({"id": ""}, r"cap\.jsonl:2: not a feedback record: 'id' is '', not a request id"),
    ({"kind": 7}, r"cap\.jsonl:2: not a capture record \('kind' is 7: a prediction record has no kind"),
])
def test_a_malformed_feedback_record_is_located(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    cap = lines(tmp_path, record(), feedback("r1", ["benign", "benign"], **change))
    with pytest.raises(MonitorInputError, match=expected):
        joined_rows(cap, None, served(classifier()))


def test_a_feedback_line_cut_short_is_located(tmp_path: Path) -> None:
    """A capture file cut short (a full disk, a copy stopped midway, an edit) at a feedback record."""
    cap = lines(tmp_path, record(), feedback("r1", ["benign", "benign"]))
    cap.write_text(cap.read_text()[:-20] + "\n")
    with pytest.raises(MonitorInputError, match=r"cap\.jsonl:2: not a capture record"):
        joined_rows(cap, None, served(classifier()))


# -- capture files that cannot be read --------------------------------------------------------------------------

def test_a_folder_named_jsonl_is_read_as_a_folder_and_a_dangling_link_is_located(tmp_path: Path) -> None:
    cap, labels = write(tmp_path, record())
    folder = tmp_path / "capture"
    (folder / "day.jsonl").mkdir(parents=True)
    cap.rename(folder / "day.jsonl" / "cap.jsonl")
    frame, counts = joined_rows(folder, labels, classifier())  # was IsADirectoryError (exit 1)
    assert counts["used"] == 2
    (folder / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    with pytest.raises(MonitorInputError, match=r"capture/gone\.jsonl: cannot read the capture file: a link to "
                                                r"nothing"):
        joined_rows(folder, labels, classifier())


# -- the report: both files or neither --------------------------------------------------------------------------

REPORT = {"passed": True, "windows": []}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))


def test_the_report_into_a_path_under_a_file_is_located(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(MonitorInputError, match=r"--out .*afile/sub: cannot write monitor\.json and monitor\.html"):
        mon.write_report(REPORT, "<html></html>", tmp_path / "afile" / "sub")


def test_a_full_disk_writes_neither_file_and_leaves_no_temporary_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """monitor.html written, monitor.json not, a .tmp- file left and "internal error" (exit 1) before."""
    real = os.fdopen
    calls = []

    class FullDisk:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        calls.append(fd)
        fh = real(fd, *args, **kwargs)
        return FullDisk(fh) if len(calls) == 2 else fh  # the second file (monitor.json) does not fit

    monkeypatch.setattr(os, "fdopen", fdopen)
    out = tmp_path / "new" / "report"
    with pytest.raises(MonitorInputError, match=r"--out .*report: .*No space left on device \(nothing written\)"):
        mon.write_report(REPORT, "<html></html>", out)
    assert not (tmp_path / "new").exists()  # the folders it made are gone with the temporary files
    out.mkdir(parents=True)
    calls.clear()
    with pytest.raises(MonitorInputError):
        mon.write_report(REPORT, "<html></html>", out)
    assert list(out.iterdir()) == []


def test_a_rename_that_fails_puts_the_old_report_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report"
    mon.write_report({"old": True}, "old html", out)
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("monitor.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(MonitorInputError, match="No space left on device"):
        mon.write_report({"new": True}, "new html", out)
    assert (out / "monitor.html").read_text() == "old html"  # both old, not a new html with an old json
    assert json.loads((out / "monitor.json").read_text()) == {"old": True}
    assert sorted(p.name for p in out.iterdir()) == ["monitor.html", "monitor.json"]


def test_atomic_write_text_removes_its_temporary_file_on_failure(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from mlready.engine.writer import atomic_write_text

    def replace(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        atomic_write_text(tmp_path / "f.txt", "text")
    assert leftovers(tmp_path) == [] and not (tmp_path / "f.txt").exists()
