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
