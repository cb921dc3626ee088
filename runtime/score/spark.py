"""The scorer on Apache Spark: a function for ``DataFrame.mapInPandas`` (or ``mapInArrow``), like MLflow's
``spark_udf``, and ``mlready score --engine spark``.

::

    from mlready.runtime.score.spark import scoring_function
    fn = scoring_function("build/model", keep=["customer_id"])
    scored = df.mapInPandas(fn, fn.schema)          # or df.mapInArrow(fn.arrow, fn.schema)

The function carries the ONNX model's bytes and signature to the executors (pickled with it, once per task;
``spark=`` broadcasts them instead) and each executor's Python worker opens one onnxruntime session, kept for
the worker's life (Spark reuses workers), then scores each Arrow batch as :class:`TableScorer` does in one
process. Bad rows: ``fail`` raises naming the column, value and reason; ``skip`` gives them null predictions
and their reason in :data:`BAD_COLUMN`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlready.runtime.datatypes import V2_TO_NUMPY
from mlready.runtime.score.scorer import ScoreError, TableScorer, model_files

BAD_COLUMN = "_mlready_bad_row"
_SPARK_TYPES = {"FP32": "float", "FP64": "double", "FP16": "float", "INT64": "bigint", "INT32": "int",
                "INT16": "smallint", "INT8": "tinyint", "UINT8": "smallint", "UINT16": "int", "UINT32": "bigint",
                "BOOL": "boolean", "BYTES": "string"}
_ARROW_TYPES = {"FP32": "float32", "FP64": "float64", "FP16": "float32", "INT64": "int64", "INT32": "int32",
                "INT16": "int16", "INT8": "int8", "UINT8": "int16", "UINT16": "int32", "UINT32": "int64",
                "BOOL": "bool_", "BYTES": "string"}  # pyarrow's type factories, the same widths as _SPARK_TYPES
_SCORERS: dict[str, TableScorer] = {}  # per Python worker: one session per model


class ScoringFunction:
    """Picklable; ``schema`` is the output's Spark DDL (kept columns, then predictions)."""

    def __init__(self, model: bytes | Any, signature: dict[str, Any] | None, keep: list[tuple[str, str]],
                 bad_rows: str = "fail", threads: int = 1):
        self.model = model  # bytes, or a Spark broadcast of them
        self.digest = hashlib.sha256(self._bytes()).hexdigest()
        self.signature = signature
        self.keep = keep  # (name, Spark DDL type)
        self.bad_rows = bad_rows
        self.threads = threads
        predictions = self.scorer().prediction_types()
        self.predictions = predictions
        fields = [*keep, *((n, _SPARK_TYPES[t]) for n, t in predictions)]
        if bad_rows == "skip":
            fields.append((BAD_COLUMN, "string"))
        self.schema = ", ".join(f"`{n.replace('`', '``')}` {t}" for n, t in fields)

    def _bytes(self) -> bytes:
        return self.model if isinstance(self.model, bytes) else self.model.value

    def scorer(self) -> TableScorer:
        scorer = _SCORERS.get(self.digest)
        if scorer is None:
            scorer = _SCORERS[self.digest] = TableScorer.from_bytes(self._bytes(), self.signature, self.threads)
        return scorer

    def arrow(self, batches: Iterator[Any]) -> Iterator[Any]:
        """For ``mapInArrow``: record batches in, record batches out."""
        import numpy as np
        import pyarrow as pa

        scorer = self.scorer()
        keep = [n for n, _ in self.keep]
        for batch in batches:
            if batch.num_rows == 0:
                continue
            scorer.check_columns(batch.schema.names, "the DataFrame")
            scored = scorer.score(batch, "the DataFrame")
            if scored.bad and self.bad_rows == "fail":
                i, column, reason = scored.bad[0]
                value = batch.column(column)[i].as_py()
                raise ScoreError(f"column '{column}': {reason} (value {value!r})")
            cols = {n: batch.column(n) for n in keep}
            good = scored.good if scored.good is not None else np.ones(batch.num_rows, dtype=bool)
            for name, datatype in self.predictions:
                values = scored.columns.get(name)
                if datatype == "BYTES":
                    full = np.full(batch.num_rows, None, dtype=object)
                else:
                    full = np.zeros(batch.num_rows, dtype=V2_TO_NUMPY[datatype])
                if values is not None:
                    full[good] = values
                cols[name] = pa.array(full, type=getattr(pa, _ARROW_TYPES[datatype])(),
                                      mask=None if scored.good is None else ~good)
            if self.bad_rows == "skip":
                reasons = np.full(batch.num_rows, None, dtype=object)
                for i, column, reason in scored.bad:
                    reasons[i] = f"column '{column}': {reason}"
                cols[BAD_COLUMN] = pa.array(reasons.tolist(), pa.string())
            yield pa.RecordBatch.from_pydict(cols)

    def __call__(self, frames: Iterator[Any]) -> Iterator[Any]:
        """For ``mapInPandas``: pandas DataFrames in, pandas DataFrames out."""
        import pyarrow as pa

        batches = (pa.RecordBatch.from_pandas(f, preserve_index=False) for f in frames)
        for out in self.arrow(batches):
            yield out.to_pandas()


def scoring_function(model: str | Path, signature: str | Path | None = None, keep: list[str] | None = None,
                     input_schema: Any = None, bad_rows: str = "fail", threads: int = 1,
                     spark: Any = None) -> ScoringFunction:
    """A function scoring a DataFrame with the built model (``model``: model.onnx or its folder).

    ``keep``: input columns passed through (their types from ``input_schema``, a Spark StructType; strings
    when it is None). ``spark``: a SparkSession, to broadcast the model instead of pickling it into each task.
    """
    path, signature_file = model_files(model, signature)
    try:
        data = path.read_bytes()
        sig = json.loads(signature_file.read_text(encoding="utf-8")) if signature_file else None
    except (OSError, ValueError) as exc:
        raise ScoreError(f"{path}: {exc}") from None
    types = {f.name: f.dataType.simpleString() for f in input_schema.fields} if input_schema is not None else {}
    kept = [(n, types.get(n, "string")) for n in keep or []]
    shipped = spark.sparkContext.broadcast(data) if spark is not None else data
    return ScoringFunction(shipped, sig, kept, bad_rows, threads)


def score_with_spark(model: Path, signature: Path | None, input_path: str | Path, output_path: str | Path,
                     options: Any, master: str = "local[*]") -> int:
    """``mlready score --engine spark``: read with Spark, score with :func:`scoring_function`, write a Parquet or
    CSV folder (Spark's part files) under a temporary name, renamed into place when done. -> rows written."""
    import warnings

    with warnings.catch_warnings():  # pyspark 4.3 warns on pandas 3 at every pandas/Arrow call; we pass Arrow
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                category=FutureWarning)
        return _score_with_spark(model, signature, input_path, output_path, options, master)


def _score_with_spark(model: Path, signature: Path | None, input_path: str | Path, output_path: str | Path,
                      options: Any, master: str) -> int:
    import shutil
    import uuid

    from mlready.runtime.score.stream import SUFFIXES, bad_rows_path, input_files, kept_columns, output_kind

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ScoreError("--engine spark needs pyspark: pip install 'mlready[spark]' (and Java 17+)") from None
    files = input_files(Path(input_path))
    output = Path(output_path)
    kind = output_kind(output)
    builder = SparkSession.builder.master(master).appName("mlready-score")
    if master.startswith("local"):  # the workers run this Python (its mlready and onnxruntime), not PATH's
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (builder
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.tmp")
    bad_tmp = None
    try:
        paths = [str(p) for p in files]
        reader = spark.read
        df = reader.parquet(*paths) if SUFFIXES[files[0].suffix.lower()] == "parquet" else \
            reader.option("header", True).option("inferSchema", False).csv(paths)
        probe = TableScorer.load(model, signature)
        probe.check_columns(df.columns, str(input_path))
        keep = kept_columns(options.keep, df.columns, probe.feature_names, str(input_path))
        fn = scoring_function(model, signature, keep, df.schema, options.bad_rows, threads=1, spark=spark)
        scored = df.mapInArrow(fn.arrow, fn.schema)
        if options.bad_rows == "skip":
            scored = scored.persist()
            bad = scored.filter(f"`{BAD_COLUMN}` IS NOT NULL").select(*keep, BAD_COLUMN)
            side = bad_rows_path(options, output)
            bad_tmp = (side, side.with_name(f".{side.name}.{uuid.uuid4().hex[:8]}.tmp"))
            bad.withColumnRenamed(BAD_COLUMN, "reason").write.option("header", True).csv(str(bad_tmp[1]))
            scored = scored.filter(f"`{BAD_COLUMN}` IS NULL").drop(BAD_COLUMN)
        writer = scored.write
        (writer.parquet(str(tmp)) if kind == "parquet" else writer.option("header", True).csv(str(tmp)))
        rows = spark.read.parquet(str(tmp)).count() if kind == "parquet" else \
            spark.read.option("header", True).csv(str(tmp)).count()
        if output.exists():
            shutil.rmtree(output) if output.is_dir() else output.unlink()
        tmp.rename(output)
        if bad_tmp is not None:
            if bad_tmp[0].exists():
                shutil.rmtree(bad_tmp[0]) if bad_tmp[0].is_dir() else bad_tmp[0].unlink()
            bad_tmp[1].rename(bad_tmp[0])
        return rows
    except Exception as exc:
        if isinstance(exc, ScoreError):
            raise
        found = re.search(r"ScoreError: (.+)", str(exc))
        if found:
            raise ScoreError(f"{input_path}: {found.group(1).strip()}") from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if bad_tmp is not None:
            shutil.rmtree(bad_tmp[1], ignore_errors=True)
