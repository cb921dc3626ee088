"""``mlready score``: score a table (CSV or Parquet file, or a folder of them) with a project's built model.

The scoring itself is :mod:`mlready.runtime.score` (it also runs inside the image, which has only the runtime):
this command finds the build's model (:func:`mlready.engine.actions.serve.built_model`), picks the engine and
maps errors to exit codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from mlready.engine.commands.common import out_option, project_option


def score(project: str | Path, input_path: str | Path, output_path: str | Path, out: str | Path | None = None,
          *, engine: str = "embedded", jobs: int = 0, options: Any = None, spark_master: str | None = None) -> Any:
    """Score ``input_path`` into ``output_path`` with the project's built model; a ScoreReport (embedded) or the
    number of rows written (spark). ScoreFailed on bad input; nothing is written then."""
    from mlready.runtime.score.stream import ScoreOptions, score_files, use_jemalloc

    if engine == "embedded":
        use_jemalloc()  # before pyarrow is imported: peak RSS flat whatever the input size (see there)
    from mlready.engine.actions.serve import built_model
    from mlready.engine.errors import MlreadyError
    from mlready.runtime.score.scorer import ScoreError, TableScorer

    class ScoreFailed(MlreadyError):
        pass

    _, _, model, signature = built_model(project, out)
    if engine == "spark" and options is not None and options.capture is not None:
        from mlready.engine.errors import UsageError

        raise UsageError("--capture is written by the embedded engine only; score without --engine spark to "
                         "capture, or capture from the Spark output")
    try:
        if engine == "spark":
            from mlready.runtime.score.spark import score_with_spark

            return score_with_spark(model, signature, input_path, output_path, options or ScoreOptions(),
                                    master=spark_master or f"local[{jobs or '*'}]")
        scorer = TableScorer.load(model, signature, threads=jobs)
        return score_files(scorer, input_path, output_path, options)
    except ScoreError as exc:
        raise ScoreFailed(str(exc)) from None


@click.command("score")
@project_option
@out_option
@click.option("-i", "--input", "input_path", required=True, type=click.Path(path_type=str),
              help="A .csv or .parquet file, or a folder of them.")
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Where the predictions go: .parquet or .csv (written whole, or not at all).")
@click.option("--keep", multiple=True, metavar="COLUMN",
              help="An input column to copy to the output (repeat). [default: every column that is no feature]")
@click.option("-j", "--jobs", type=click.IntRange(0, 1024), default=0,
              help="Threads for onnxruntime (spark: local[N] cores). [default: 0 = all cores]")
@click.option("--bad-rows", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
              help="A row that cannot be scored: fail naming its file, row and column, or skip it and write "
                   "it with its reason to --bad-rows-file.")
@click.option("--bad-rows-file", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="[default: <output stem>.bad-rows.csv beside the output; a folder of CSV parts on Spark]")
@click.option("--capture", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Also write each scored row in the prediction-capture format (JSON Lines).")
@click.option("--chunk-rows", type=click.IntRange(1, 10_000_000), default=65536, show_default=True,
              help="Rows read and scored at a time (memory grows with it, not with the input).")
@click.option("--engine", type=click.Choice(["embedded", "spark"]), default="embedded", show_default=True,
              help="embedded: this process; spark: Apache Spark (the spark extra; --spark-master).")
@click.option("--spark-master", default=None, help="Spark master URL [default: local[<jobs or *>]].")
@click.option("--progress/--no-progress", default=None, help="[default: on a terminal]")
def command(project: str, out: str | None, input_path: str, output_path: str, keep: tuple[str, ...], jobs: int,
            bad_rows: str, bad_rows_file: str | None, capture: str | None, chunk_rows: int, engine: str,
            spark_master: str | None, progress: bool | None) -> None:
    """Score a table with the project's built model (the served ONNX, the server's checks).

    The output holds the kept columns, then the predictions: `label` (the class name) and one
    `probability_<class>` column per class for a classifier, `prediction` for a regressor. The input is
    read in chunks and the output written as it goes, so memory does not grow with the input; the output
    appears only when every row is done. The prediction-capture format (--capture) is described in
    `mlready.runtime.score.capture`.

    \b
    Examples:
      mlready score -C examples/tabular -i data/customers.parquet -o preds.parquet --keep customer_id
      mlready score -C . -i incoming/ -o preds.csv --bad-rows skip --capture captured.jsonl
      mlready score -C . -i big.parquet -o preds.parquet --engine spark -j 8
    """
    from mlready.engine.errors import MlreadyError
    from mlready.runtime.score.stream import ScoreOptions, interrupt_on_sigterm

    class Interrupted(MlreadyError):
        exit_code = 130

    interrupt_on_sigterm()
    options = ScoreOptions(keep=list(keep) or None, bad_rows=bad_rows,
                           bad_rows_file=Path(bad_rows_file) if bad_rows_file else None,
                           capture=Path(capture) if capture else None, chunk_rows=chunk_rows, progress=progress)
    try:
        report = score(project, input_path, output_path, out, engine=engine, jobs=jobs, options=options,
                       spark_master=spark_master)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: nothing was written to {output_path}") from None
    if engine == "spark":
        click.echo(f"scored {report:,} rows on Spark -> {output_path}", err=True)
        return
    skipped = f", {report.bad:,} bad rows skipped -> {report.outputs[1]}" if report.bad else ""
    click.echo(f"scored {report.scored:,} of {report.rows:,} rows in {report.seconds:.1f}s "
               f"({report.rows_per_second:,.0f} rows/s){skipped} -> {output_path}", err=True)
