"""The retrain pipeline's gather stage checks labels as ``mlready monitor`` does: a label that is not a class of the
served model (the capture's answers name its classes), a regressor's label that is not a number, a ``row`` that is
not a row of its request, a capture value of the wrong type or a file that cannot be read is exit 2 naming the
file, its line (or request and row) and the column, and no training set is written: never a traceback, never a
training set holding what monitor refuses."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlready.generators.ci.retrain_gather import main


def capture(folder: Path, records: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def classified(rid: str = "r1", **change: Any) -> dict[str, Any]:
    """A classifier's record of two rows, its classes named (probabilities keyed by class name)."""
    rec = {"id": rid, "time": "2026-12-06T01:10:00Z", "rows": 2, "inputs": {"a": [1.0, 2.0]},
           "outputs": {"label": ["malignant", "benign"],
                       "probabilities": {"malignant": [0.9, 0.2], "benign": [0.1, 0.8]}}}
    rec.update(change)
    return rec


def run(tmp_path: Path, records: list[dict[str, Any]], labels: str, base: str | None = None,
        suffix: str = ".csv") -> tuple[int, Path]:
    """The stage's main: (exit code, the next training set)."""
    cap = capture(tmp_path / "cap", records)
    (tmp_path / f"labels{suffix}").write_text(labels)
    args = ["--capture", str(cap), "--labels", str(tmp_path / f"labels{suffix}"), "--target", "y",
            "--out", str(tmp_path / "out" / "train.csv")]
    if base is not None:
        (tmp_path / "base.csv").write_text(base)
        args += ["--base", str(tmp_path / "base.csv")]
    return main(args), tmp_path / "out" / "train.csv"


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], records: list[dict[str, Any]], labels: str,
            expected: str, base: str | None = None) -> None:
    code, out = run(tmp_path, records, labels, base)
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err and "Traceback" not in err, err
    assert not out.exists()  # nothing written, no temporary file left
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


@pytest.mark.parametrize(("labels", "expected"), [
    ("request_id,row,y\nr1,0,malignant\nr1,1,cat\n", "labels.csv: line 3, column 'y': 'cat' is not a class of the "
                                                   "model (classes: malignant, benign)"),
    ("request_id,row,y\nr1,0,malignant\nr1,1,\n", "labels.csv: line 3, column 'y': no label"),
])
def test_a_label_monitor_refuses_is_not_written(tmp_path: Path, capsys: pytest.CaptureFixture[str], labels: str,
                                                expected: str) -> None:
    """'cat' was written into the next data/train.csv with exit 0 (monitor exits 2 for it)."""
    refused(tmp_path, capsys, [classified()], labels, expected)


@pytest.mark.parametrize("row", ["abc", "-1", "0.7", "inf", "2"])
def test_a_row_that_is_not_a_row_of_the_request_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           row: str) -> None:
    """-1 joined the request's last row, 0.7 row 0 (exit 0); abc was a traceback (exit 1)."""
    refused(tmp_path, capsys, [classified()], f"request_id,row,y\nr1,0,benign\nr1,{row},malignant\n",
            "labels.csv: line 3, column 'row': ")


def test_labels_are_written_as_the_base_writes_its_classes(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The base's targets 0/1 are the classes the served names malignant/benign stand for (in their order): a
    label given as a name or a raw class is written as the raw class; other values are refused."""
    code, out = run(tmp_path, [classified()], "request_id,row,y\nr1,0,malignant\nr1,1,1\n",
                       base="a,y\n5.0,0\n6.0,1\n")
    assert code == 0, capsys.readouterr().err
    assert pd.read_csv(out).to_dict("list") == {"a": [5.0, 6.0, 1.0, 2.0], "y": [0, 1, 0, 1]}
    out.unlink()
    refused(tmp_path, capsys, [classified()], "request_id,row,y\nr1,0,2\n",
            "labels.csv: line 2, column 'y': '2' is not a class of the model (classes: malignant, benign, 0, 1)",
            base="a,y\n5.0,0\n6.0,1\n")


@pytest.mark.parametrize(("label", "expected"), [("lots", "'lots' is not a number"),
                                                 ("1e308", "1e+308 is not a finite number of at most 1e+100")])
def test_a_regressors_label_must_be_a_number(tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str,
                                             expected: str) -> None:
    rec = {"id": "r1", "rows": 1, "inputs": {"a": [1.0]}, "outputs": {"prediction": [3.5]}}
    refused(tmp_path, capsys, [rec], f"request_id,y\nr1,{label}\n", f"labels.csv: line 2, column 'y': {expected}")
    code, out = run(tmp_path, [rec], "request_id,y\nr1,4.25\n")
    assert code == 0 and pd.read_csv(out).to_dict("list") == {"a": [1.0], "y": [4.25]}


@pytest.mark.parametrize(("change", "expected"), [
    ({"inputs": {"a": [{"x": 1}, 2.0]}}, "cap: request 'r1': row 0, input 'a': {'x': 1} is not a value"),
    ({"inputs": {"a": "12"}}, "cap: request 'r1': input 'a' is '12', not a list of one value per row"),
    ({"inputs": [1.0, 2.0]}, "cap: request 'r1': 'inputs' is [1.0, 2.0], not an object"),
    ({"rows": "2"}, "cap: request 'r1': 'rows' is '2', not a count of rows"),
])
def test_a_captured_value_of_the_wrong_type_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       change: dict[str, Any], expected: str) -> None:
    refused(tmp_path, capsys, [classified(**change)], "request_id,row,y\nr1,0,benign\n", expected)


def test_capture_and_label_files_that_cannot_be_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A non-UTF-8 capture, a dangling link and a damaged label file were tracebacks (exit 1); a folder whose name
    ends in .jsonl is a folder (IsADirectoryError before)."""
    labels = "request_id,row,y\nr1,0,benign\n"
    cap = capture(tmp_path / "cap", [classified()])
    (cap / "day.jsonl").mkdir()
    (cap / "day.jsonl" / "b.jsonl").write_text(json.dumps(classified("r2")) + "\n")
    code, out = run(tmp_path, [classified()], labels)
    assert code == 0, capsys.readouterr().err
    out.unlink()
    (cap / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    refused(tmp_path, capsys, [classified()], labels, "cap/gone.jsonl: cannot read the capture file: a link to nothing")
    (cap / "gone.jsonl").unlink()
    (cap / "day.jsonl" / "b.jsonl").write_bytes(b'{"id": "\xff"}\n')
    refused(tmp_path, capsys, [classified()], labels, "b.jsonl: a capture file that is not UTF-8 text")
    (cap / "day.jsonl" / "b.jsonl").unlink()
    cap = capture(tmp_path / "cap", [classified()])
    (tmp_path / "labels.parquet").write_bytes(b"PAR1\x00\x01")
    code = main(["--capture", str(cap), "--labels", str(tmp_path / "labels.parquet"), "--target", "y",
                 "--out", str(tmp_path / "out" / "train.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "labels.parquet: not a readable label file" in err and "Traceback" not in err, err


def test_a_full_disk_is_exit_2_and_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        Path(path).write_text("request_id,y\n")  # part of it written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    code, out = run(tmp_path, [classified()], "request_id,row,y\nr1,0,benign\n")
    err = capsys.readouterr().err
    assert code == 2 and "train.csv: cannot write the training set: No space left on device" in err, err
    assert list(out.parent.iterdir()) == []


# -- feedback records: the labels the server's feedback API accepted, in the capture files ----------------------

def feedback(rid: str, labels: list[Any], at: str = "02:00:00", key: str = "label", **change: Any) -> dict[str, Any]:
    """A feedback record as the server writes it (runtime/README.md), with ``change`` applied."""
    rec = {"id": rid, "time": f"2026-12-06T{at}.000000Z", "kind": "feedback", "model": "m", "outcome": "joined",
           "rows": len(labels), key: labels}
    rec.update(change)
    return rec


def gathered(tmp_path: Path, capsys: pytest.CaptureFixture[str], records: list[dict[str, Any]],
             labels: str | None = None, base: str | None = "a,y\n5.0,0\n6.0,1\n", model: str | None = "m"
             ) -> tuple[int, Path, str]:
    """The stage's main on ``records`` (predictions and feedback records) with no label file unless ``labels``:
    (exit code, the next training set, what it printed)."""
    cap = capture(tmp_path / "cap", records)
    args = ["--capture", str(cap), "--target", "y", "--out", str(tmp_path / "out" / "train.csv")]
    if labels is not None:
        (tmp_path / "labels.csv").write_text(labels)
        args += ["--labels", str(tmp_path / "labels.csv")]
    if base is not None:
        (tmp_path / "base.csv").write_text(base)
        args += ["--base", str(tmp_path / "base.csv")]
    if model is not None:
        args += ["--model", model]
    code = main(args)
    printed = capsys.readouterr()
    return code, tmp_path / "out" / "train.csv", printed.out + printed.err


def test_feedback_records_alone_are_the_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No label file: the served model's feedback records label the rows. A second label for a request posted
    later is a duplicate (the earliest wins, as on the server, whatever the order in the files); a redacted label is
    unusable; a label for a request not captured is counted; another model's feedback is not this model's label."""
    records = [classified("r1"), classified("r2"),
               feedback("r1", ["malignant", "malignant"], at="03:00:00", outcome="duplicate"),  # later: loses
               feedback("r1", ["benign", 0]),  # the raw class 0 is malignant
               feedback("r2", ["[redacted]", "benign"]),
               feedback("gone", ["benign"], outcome="unknown"),
               feedback("r2", ["malignant", "malignant"], model="other")]
    code, out, printed = gathered(tmp_path, capsys, records)
    assert code == 0, printed
    assert pd.read_csv(out).to_dict("list") == {"a": [5.0, 6.0, 1.0, 2.0, 2.0], "y": [0, 1, 1, 0, 1]}
    assert ("train.csv: 5 rows (3 labelled production rows added; 7 labels, 7 from feedback records; left out: "
            "1 not captured, 1 redacted or incomplete, 2 duplicate labels)") in printed


def test_a_label_file_wins_over_feedback_for_the_same_request_and_row(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, printed = gathered(tmp_path, capsys, [classified("r1"), feedback("r1", ["benign", "benign"])],
                                  labels="request_id,row,y\nr1,0,malignant\n")
    assert code == 0, printed
    assert pd.read_csv(out).to_dict("list") == {"a": [5.0, 6.0, 1.0, 2.0], "y": [0, 1, 0, 1]}  # row 0 the file's
    assert "3 labels, 2 from feedback records; left out: 0 not captured, 0 redacted or incomplete, 1 duplicate" in printed


def test_no_labels_anywhere_is_exit_2_saying_where_labels_come_from(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, printed = gathered(tmp_path, capsys, [classified("r1")])
    assert code == 2 and not out.exists(), printed
    assert f"error: no labels: no label file was given and {tmp_path / 'cap'} holds no feedback records." in printed
    assert "POST /v2/models/<name>/feedback" in printed and "serving.capture and serving.feedback" in printed
    code, _, printed = gathered(tmp_path, capsys, [classified("r1"), feedback("r1", ["benign", "benign"],
                                                                              model="other")])
    assert code == 2 and "holds no feedback records of this model (1 are of other models: other;" in printed
    code, out, printed = gathered(tmp_path, capsys, [classified("r1"), feedback("r1", ["benign", "benign"],
                                                                              model="other")], model=None)
    assert code == 0 and len(pd.read_csv(out)) == 4, printed  # no --model: every model's feedback


@pytest.mark.parametrize(("record", "expected"), [
    (feedback("r1", ["benign", "cat"]), "a.jsonl:2: feedback for request 'r1', label[1]: 'cat' is not a class of "
                                        "the model (classes: malignant, benign, 0, 1)"),
    (feedback("r1", ["benign", "benign", "benign"]), "a.jsonl:2: feedback for request 'r1', label[2]: 2 is not a "
                                                     "row of request 'r1', which has 2 rows"),
    (feedback("r1", ["benign"], rows=2), "a.jsonl:2: not a feedback record: 'label' is ['benign'], not a list of "
                                         "one label per row ('rows': 2)"),
    (feedback("r1", "benign"), "a.jsonl:2: not a feedback record: 'label' is 'benign', not a list"),
    (feedback("r1", ["benign", ["x"]]), "a.jsonl:2: not a feedback record: label[1] is ['x'], not a label"),
    (feedback("r1", ["benign"], rows=True), "a.jsonl:2: not a feedback record: 'rows' is True, not a count"),
    (feedback("r1", ["benign"], time="yesterday"), "a.jsonl:2: not a feedback record: 'time' is 'yesterday', not a "
                                                   "date and time"),
    (feedback("r1", ["benign"], model=None), "a.jsonl:2: not a feedback record: 'model' is None, not a model name"),
    (feedback("r1", ["benign"], value=[1.0]), "a.jsonl:2: not a feedback record: it holds both 'label' and 'value'"),
    (feedback("r1", ["benign"], kind="feedbak"), "a.jsonl:2: not a capture record ('kind' is 'feedbak': a "
                                                 "prediction record has no kind, a feedback record 'feedback')"),
])
def test_a_malformed_feedback_record_is_exit_2_naming_file_and_line(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str],
                                                                     record: dict[str, Any], expected: str) -> None:
    code, out, printed = gathered(tmp_path, capsys, [classified("r1"), record])
    assert code == 2 and expected in printed and "Traceback" not in printed, printed
    assert not out.exists()


def test_a_truncated_feedback_line_is_exit_2_naming_file_and_line(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cap = capture(tmp_path / "cap", [classified("r1")])
    line = json.dumps(feedback("r1", ["benign", "benign"]))
    (cap / "b.jsonl").write_text(line + "\n" + line[:50] + "\n")  # a file cut short by a full disk
    code = main(["--capture", str(cap), "--target", "y", "--out", str(tmp_path / "train.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "cap/b.jsonl:2: not a capture record" in err, err
