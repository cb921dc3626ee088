"""``mlready score`` on the mixed-type example: the built ONNX's answers equal the source pipeline's, the output
keeps the key columns, bad rows fail naming file/row/column or go to a side file, a failed run writes nothing,
and the prediction-capture records carry the inputs by name."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mlready.engine.cli import main

pytestmark = pytest.mark.slow  # the session fixture builds the example (~15 s)

FEATURES = ["state", "plan", "tenure_months", "monthly_charges", "support_calls", "autopay"]


def _score(project, *args: str) -> int:
    return main(["score", "-C", str(project), "--no-progress", *args])


def _eval(project) -> pd.DataFrame:
    frame = pd.read_csv(project / "data" / "eval.csv")
    frame.insert(0, "customer_id", [f"c{i:04d}" for i in range(len(frame))])
    return frame


def test_parquet_scores_equal_the_source_pipeline(tabular, tmp_path, capsys):
    frame = _eval(tabular)
    src = tmp_path / "in.parquet"
    frame.to_parquet(src, index=False)
    out = tmp_path / "preds.parquet"
    assert _score(tabular, "-i", str(src), "-o", str(out), "--keep", "customer_id", "--chunk-rows", "64") == 0
    assert "scored 500 of 500 rows" in capsys.readouterr().err
    got = pq.read_table(out).to_pandas()
    assert list(got.columns) == ["customer_id", "label", "probability_stays", "probability_churns"]
    assert got["customer_id"].tolist() == frame["customer_id"].tolist()
    pipeline = joblib.load(tabular / "model.joblib")
    proba = pipeline.predict_proba(frame[FEATURES])
    np.testing.assert_allclose(got[["probability_stays", "probability_churns"]].to_numpy(), proba, atol=1e-5)
    names = np.array(["stays", "churns"])
    assert (got["label"].to_numpy() == names[pipeline.predict(frame[FEATURES])]).all()
    assert not list(tmp_path.glob(".*.tmp"))


def test_csv_equals_parquet_and_keeps_other_columns_by_default(tabular, tmp_path):
    frame = _eval(tabular)
    frame.to_csv(tmp_path / "in.csv", index=False)
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    assert _score(tabular, "-i", str(tmp_path / "in.csv"), "-o", str(tmp_path / "a.csv")) == 0
    assert _score(tabular, "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "b.parquet")) == 0
    a = pd.read_csv(tmp_path / "a.csv")
    b = pd.read_parquet(tmp_path / "b.parquet")
    assert list(a.columns) == ["customer_id", "churned", "label", "probability_stays", "probability_churns"]
    assert (a["label"] == b["label"]).all()
    np.testing.assert_allclose(a["probability_churns"], b["probability_churns"], rtol=1e-6)


def _bad_csv(path) -> None:
    path.write_text("id,state,plan,tenure_months,monthly_charges,support_calls,autopay\n"
                    "a,TX,plus,12,50.5,1,true\n"
                    "b,TX,plus,twelve,50.5,1,true\n"
                    "c,CA,pro,3,,2,maybe\n"
                    "d,,pro,3,1,2,false\n"
                    "e,TX,pro,3,1e400,2,False\n")


def test_bad_row_fails_naming_file_row_and_column_and_writes_nothing(tabular, tmp_path, capsys):
    src = tmp_path / "bad.csv"
    _bad_csv(src)
    out = tmp_path / "preds.parquet"
    assert _score(tabular, "-i", str(src), "-o", str(out), "--capture", str(tmp_path / "cap.jsonl")) == 1
    err = capsys.readouterr().err
    assert f"{src}: row 2 (line 3), column 'tenure_months': not a finite FP32 number (value 'twelve')" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no output, capture or temp file


def test_skip_writes_bad_rows_with_reasons_to_a_side_file(tabular, tmp_path):
    src = tmp_path / "bad.csv"
    _bad_csv(src)
    out = tmp_path / "preds.csv"
    assert _score(tabular, "-i", str(src), "-o", str(out), "--bad-rows", "skip") == 0
    preds = pd.read_csv(out)
    assert preds["id"].tolist() == ["a"]
    side = pd.read_csv(tmp_path / "preds.bad-rows.csv")
    assert side[["row", "column", "reason"]].values.tolist() == [
        [2, "tenure_months", "not a finite FP32 number"],
        [3, "autopay", "not a boolean (true/false)"],
        [4, "state", "missing value"],
        [5, "monthly_charges", "not a finite FP32 number"],
    ]
    assert json.loads(side["values"][0])["tenure_months"] == "twelve"


def test_folder_with_a_bad_second_file_leaves_no_output(tabular, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    _eval(tabular).to_parquet(folder / "a.parquet", index=False)
    wrong = _eval(tabular).head(5)
    wrong["state"] = 7  # a number column for a text feature: no row of it can be scored
    wrong.to_parquet(folder / "b.parquet", index=False)
    out = tmp_path / "preds.parquet"
    assert _score(tabular, "-i", str(folder), "-o", str(out), "--bad-rows", "skip") == 1
    assert f"{folder / 'b.parquet'}: column 'state' is int64; feature 'state' takes text (BYTES)" in \
        capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_missing_column_and_unknown_keep_are_named(tabular, tmp_path, capsys):
    frame = _eval(tabular).drop(columns=["plan"])
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    assert _score(tabular, "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "o.parquet")) == 1
    assert "missing column 'plan' (model 'churn-tabular' takes: state, plan," in capsys.readouterr().err
    _eval(tabular).to_parquet(tmp_path / "in.parquet", index=False)
    assert _score(tabular, "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "o.parquet"),
                  "--keep", "nope") == 1
    assert "--keep column 'nope' not in it" in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()


def test_capture_writes_the_servers_record_format_per_chunk(tabular, tmp_path):
    frame = _eval(tabular).head(5)
    frame.loc[1, "monthly_charges"] = None
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    cap = tmp_path / "cap.jsonl"
    assert _score(tabular, "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "o.parquet"),
                  "--capture", str(cap), "--chunk-rows", "3") == 0
    records = [json.loads(line) for line in cap.read_text().splitlines()]
    assert [r["rows"] for r in records] == [3, 2] and len({r["id"] for r in records}) == 2
    first = records[0]
    assert set(first) == {"id", "time", "model", "version", "protocol", "rows", "sample_rate", "inputs", "outputs"}
    assert (first["model"], first["version"], first["protocol"]) == ("churn-tabular", "1", "batch")
    assert list(first["inputs"]) == FEATURES
    assert first["inputs"]["state"] == frame["state"][:3].tolist()
    assert first["inputs"]["autopay"] == frame["autopay"][:3].tolist()
    assert first["inputs"]["monthly_charges"][1] is None  # a missing number
    preds = pq.read_table(tmp_path / "o.parquet").to_pandas()
    assert first["outputs"]["label"] + records[1]["outputs"]["label"] == preds["label"].tolist()
    np.testing.assert_allclose(first["outputs"]["probabilities"]["churns"], preds["probability_churns"][:3])


def test_empty_input_writes_an_empty_output(tabular, tmp_path):
    pq.write_table(pa.table({n: pa.array([], pa.string()) for n in FEATURES}), tmp_path / "in.parquet")
    assert _score(tabular, "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "o.parquet")) == 0
    assert pq.read_table(tmp_path / "o.parquet").num_rows == 0


def test_no_build_is_a_usage_error(tmp_path, capsys):
    assert _score(tmp_path, "-i", "x.csv", "-o", "y.csv") == 2  # not even a project
    assert f"no deploy.yaml in {tmp_path}" in capsys.readouterr().err
    (tmp_path / "deploy.yaml").write_text("project:\n  name: demo\n")
    assert _score(tmp_path, "-i", "x.csv", "-o", "y.csv") == 2  # a project, never built
    assert "run `mlready build" in capsys.readouterr().err


def test_runtime_entrypoint_equals_the_cli(tabular, tmp_path):
    """``python -m mlready.runtime.score`` (the image's entrypoint) on a model-repository folder."""
    import shutil
    import subprocess
    import sys

    model = tmp_path / "models" / "churn" / "1"
    model.mkdir(parents=True)
    shutil.copy(tabular / "build" / "model" / "model.onnx", model / "model.onnx")
    shutil.copy(tabular / "build" / "model" / "signature.json", model / "metadata.json")
    _eval(tabular).to_parquet(tmp_path / "in.parquet", index=False)
    proc = subprocess.run([sys.executable, "-m", "mlready.runtime.score", "score", "--model", str(model),
                           "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "a.parquet"),
                           "--keep", "customer_id"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _score(tabular, "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "b.parquet"),
                  "--keep", "customer_id") == 0
    assert pq.read_table(tmp_path / "a.parquet").equals(pq.read_table(tmp_path / "b.parquet"))


def test_interrupted_run_leaves_no_output_and_no_temporary_file(tabular, tmp_path):
    """SIGTERM (a Job's pod stopped) mid-run: exit 130, neither the output nor its temporary file remains."""
    import signal
    import subprocess
    import sys
    import time

    frame = _eval(tabular)
    big = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(pa.concat_tables([big] * 400), tmp_path / "in.parquet")  # 200,000 rows
    out = tmp_path / "preds.parquet"
    cli = str(__import__("pathlib").Path(sys.executable).with_name("mlready"))
    proc = subprocess.Popen([cli, "score", "-C", str(tabular), "-i", str(tmp_path / "in.parquet"), "-o", str(out),
                             "--chunk-rows", "200", "--no-progress"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".preds.parquet.*.tmp")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "finished before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"interrupted: nothing was written to {out}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


def test_memory_stays_bounded_whatever_the_input_size(tabular, tmp_path, monkeypatch):
    """Arrow memory stays flat over 2M rows: the second half of the run peaks no higher than the first (here
    ~42 MB: the batches in flight between the reader, the scorer and the writer). With Parquet pre-buffering on
    and text decoded per row, the reader's memory grew with the file (49 MB here, 79 MB at 8M rows)."""
    from mlready.runtime.score import stream
    from mlready.runtime.score.scorer import TableScorer

    src = pa.Table.from_pandas(_eval(tabular)[FEATURES], preserve_index=False)
    rng = np.random.default_rng(0)
    schema = src.schema.insert(0, pa.field("customer_id", pa.int64()))
    with pq.ParquetWriter(tmp_path / "in.parquet", schema) as writer:
        for start in range(0, 2_000_000, 500_000):
            part = src.take(pa.array(rng.integers(0, src.num_rows, 500_000)))
            ids = pa.array(np.arange(start, start + 500_000))
            writer.write_table(part.add_column(0, "customer_id", ids), row_group_size=131072)
    peak = []
    write = stream._TableWriter.write

    def measured(self, table):
        write(self, table)
        peak.append(pa.total_allocated_bytes())

    monkeypatch.setattr(stream._TableWriter, "write", measured)
    scorer = TableScorer.load(tabular / "build" / "model")
    report = stream.score_files(scorer, tmp_path / "in.parquet", tmp_path / "out.parquet",
                                stream.ScoreOptions(progress=False, chunk_rows=65536, keep=["customer_id"]))
    # at least one write per 65536 rows (text read as Parquet dictionaries: a batch ends at a row group's end)
    assert report.scored == 2_000_000 and len(peak) >= 2_000_000 // 65536
    # reading and writing overlap scoring (a few batches in flight): the first writes come before the pipeline
    # is full, so the second half of the run is held to the first half's peak, not to the first write
    first, second = peak[: len(peak) // 2], peak[len(peak) // 2 :]
    assert max(second) <= max(first) + (4 << 20), f"Arrow memory grew (MB): {[p >> 20 for p in peak]}"


def test_capture_on_spark_is_a_usage_error_before_spark_starts(tabular, tmp_path, capsys):
    _eval(tabular).to_parquet(tmp_path / "in.parquet", index=False)
    assert _score(tabular, "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "o.parquet"),
                  "--engine", "spark", "--capture", str(tmp_path / "c.jsonl")) == 2
    assert "--capture is written by the embedded engine only" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


def test_quickstart_one_matrix_input_scores_like_its_model(tmp_path):
    """The quickstart: one FP32 matrix input fed by 30 named columns (features derived from feature_names)."""
    import shutil

    from mlready.engine import api

    example = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    project = tmp_path / "quickstart"
    shutil.copytree(example, project, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
    api.build(project, ["tracking.enabled=false"])
    out = tmp_path / "preds.parquet"
    assert _score(project, "-i", str(project / "data" / "eval.csv"), "-o", str(out), "--keep", "target") == 0
    got = pq.read_table(out).to_pandas()
    frame = pd.read_csv(project / "data" / "eval.csv")
    model = joblib.load(project / "model.joblib")
    proba = model.predict_proba(frame.drop(columns=["target"]))
    assert list(got.columns) == ["target", "label", "probability_0", "probability_1"]
    np.testing.assert_allclose(got[["probability_0", "probability_1"]].to_numpy(), proba, atol=1e-5)
    assert got["label"].tolist() == [str(c) for c in model.predict(frame.drop(columns=["target"]))]
