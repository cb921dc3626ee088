"""``mlready score --engine spark`` in local[2]: the same predictions as the embedded engine, row for row, on the
mixed-type example (CSV in, Parquet out), and the mapInPandas function on a DataFrame; bad rows fail naming
the column or go to the side file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlready.engine.cli import main
from pyspark.sql import SparkSession  # the spark extra (setup.sh): a skip would hide a broken install

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")]


def _frame(project) -> pd.DataFrame:
    frame = pd.read_csv(project / "data" / "eval.csv")
    frame.insert(0, "customer_id", [f"c{i:04d}" for i in range(len(frame))])
    frame.loc[3, "tenure_months"] = None  # a missing number: NaN for the FP32 feature, scored by both
    return frame


def _read(path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("customer_id").reset_index(drop=True)


def test_spark_equals_embedded_row_for_row(tabular, tmp_path):
    src = tmp_path / "in.csv"
    frame = _frame(tabular)
    frame.loc[7, "state"] = None  # a missing text value: a bad row for both engines
    frame.to_csv(src, index=False)
    emb, spk = tmp_path / "embedded.parquet", tmp_path / "spark.parquet"
    base = ["score", "-C", str(tabular), "--no-progress", "-i", str(src), "--keep", "customer_id",
            "--bad-rows", "skip"]
    assert main([*base, "-o", str(emb)]) == 0
    assert main([*base, "-o", str(spk), "--engine", "spark", "-j", "2"]) == 0
    a, b = _read(emb), _read(spk)
    assert len(a) == 499 and a["customer_id"].tolist() == b["customer_id"].tolist()
    assert list(a.columns) == list(b.columns) == ["customer_id", "label", "probability_stays",
                                                   "probability_churns"]
    assert (a["label"] == b["label"]).all()
    np.testing.assert_array_equal(a["probability_churns"].to_numpy(), b["probability_churns"].to_numpy())
    side = pd.read_csv(next((tmp_path / "spark.bad-rows.csv").glob("part-*.csv")))
    assert side.values.tolist() == [["c0007", "column 'state': missing value"]]

    # the Python API: a mapInPandas function over a Spark DataFrame, same answers
    from mlready.runtime.score.spark import scoring_function

    spark = SparkSession.builder.getOrCreate()  # the session the command started (local[2])
    data = spark.createDataFrame(frame.drop(index=7).drop(columns=["churned"]).astype({"state": str}))
    fn = scoring_function(tabular / "build" / "model", keep=["customer_id"], input_schema=data.schema)
    got = data.mapInPandas(fn, fn.schema).toPandas().sort_values("customer_id").reset_index(drop=True)
    assert got["customer_id"].tolist() == a["customer_id"].tolist()
    assert (got["label"] == a["label"]).all()
    np.testing.assert_allclose(got["probability_churns"], a["probability_churns"], rtol=1e-6)


def test_spark_bad_row_fails_naming_the_column(tabular, tmp_path, capsys):
    src = tmp_path / "in.csv"
    frame = _frame(tabular)
    frame["tenure_months"] = frame["tenure_months"].astype(object)
    frame.loc[5, "tenure_months"] = "five"
    frame.to_csv(src, index=False)
    out = tmp_path / "spark.parquet"
    assert main(["score", "-C", str(tabular), "--no-progress", "-i", str(src), "-o", str(out),
                 "--engine", "spark", "-j", "2"]) == 1
    assert "column 'tenure_months': not a finite FP32 number (value 'five')" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_quickstart_on_spark_equals_embedded_row_for_row(tmp_path):
    """The quickstart (one FP32 matrix input fed by 30 named columns) scores alike on both engines, from Parquet."""
    import shutil
    from pathlib import Path

    from mlready.engine import api

    example = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    project = tmp_path / "quickstart"
    shutil.copytree(example, project, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
    api.build(project, ["tracking.enabled=false"])
    frame = pd.read_csv(project / "data" / "eval.csv")
    frame.insert(0, "row_id", [f"r{i:04d}" for i in range(len(frame))])
    src = tmp_path / "in.parquet"
    frame.to_parquet(src, index=False)
    emb, spk = tmp_path / "embedded.parquet", tmp_path / "spark.parquet"
    base = ["score", "-C", str(project), "--no-progress", "-i", str(src), "--keep", "row_id"]
    assert main([*base, "-o", str(emb)]) == 0
    assert main([*base, "-o", str(spk), "--engine", "spark", "-j", "2"]) == 0
    a = pd.read_parquet(emb).sort_values("row_id").reset_index(drop=True)
    b = pd.read_parquet(spk).sort_values("row_id").reset_index(drop=True)
    assert len(a) == len(frame) and a["row_id"].tolist() == b["row_id"].tolist()
    assert list(a.columns) == list(b.columns) == ["row_id", "label", "probability_0", "probability_1"]
    assert (a["label"] == b["label"]).all()
    np.testing.assert_array_equal(a[["probability_0", "probability_1"]].to_numpy(),
                                  b[["probability_0", "probability_1"]].to_numpy())
