"""Files in, predictions out, in bounded memory: read record batches, score each, write it, forget it.

Inputs: a CSV or Parquet file, or a folder of them (read in name order). Feature columns of a CSV are read as
text and parsed per feature (:mod:`~mlready.runtime.score.columns`), so one bad value is one bad row. The
output (Parquet or CSV, by its suffix) holds the kept columns, then the predictions. Every file is written to
a temporary name beside its destination and renamed into place only when the whole run succeeded: an
interrupted or failed run leaves no output, side file or capture file behind.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from mlready.runtime.score import arrays
from mlready.runtime.score.overlap import ReadAhead, WriteBehind
from mlready.runtime.score.scorer import ScoreError, TableScorer

SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
BAD_ROWS = ("fail", "skip")


@dataclass
class ScoreOptions:
    keep: list[str] | None = None  # input columns copied to the output (None: every non-feature column)
    bad_rows: str = "fail"  # fail | skip
    bad_rows_file: Path | None = None  # skip: where bad rows go (default: <output>.bad-rows.csv)
    capture: Path | None = None  # prediction-capture JSONL
    chunk_rows: int = 65536
    progress: bool | None = None  # None: when stderr is a terminal


@dataclass
class ScoreReport:
    rows: int = 0
    scored: int = 0
    bad: int = 0
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class _Stop:
    """SIGTERM while :func:`score_files` runs is acted on between batches, not in the middle of pyarrow's or
    onnxruntime's native code (an exception raised there asynchronously crashed the process: exit -11)."""

    deferred = False
    requested = False

    @classmethod
    def check(cls) -> None:
        if cls.requested:
            cls.requested = False
            raise KeyboardInterrupt


def interrupt_on_sigterm() -> None:
    """SIGTERM (Kubernetes stopping a Job's pod, ``kill``) unwinds like Ctrl-C: the temporary files go."""
    import signal

    def stop(signum: int, frame: Any) -> None:
        if _Stop.deferred:
            _Stop.requested = True
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def use_jemalloc() -> None:
    """Arrow allocates from jemalloc in this process, unless ARROW_DEFAULT_MEMORY_POOL already chooses: a scoring
    run's entry point calls it before pyarrow is imported (Arrow reads the variable once, at its first
    allocation; ``pa.set_memory_pool`` later leaves Arrow's own C++ allocations on the old pool). With the
    wheel's default, mimalloc, peak RSS grew with the input (224 MB at 2M rows, 276 MB at 8M, one chunk size)
    and scoring took ~10% more CPU; with jemalloc: 174 and 178 MB. Linux only: other platforms' wheels may
    lack jemalloc (Arrow would warn and keep its default)."""
    if sys.platform.startswith("linux"):
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")


def input_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise ScoreError(f"{path}: no .csv or .parquet file in this folder")
        kinds = {SUFFIXES[p.suffix.lower()] for p in files}
        if len(kinds) > 1:
            raise ScoreError(f"{path}: mixes CSV and Parquet files; give one kind per folder")
        return files
    if not path.is_file():
        raise ScoreError(f"{path}: no such file or folder")
    if path.suffix.lower() not in SUFFIXES:
        raise ScoreError(f"{path}: expected a .csv or .parquet file (or a folder of them)")
    return [path]


def output_kind(output: Path) -> str:
    """parquet or csv, by the output's suffix."""
    kind = SUFFIXES.get(output.suffix.lower())
    if kind is None:
        raise ScoreError(f"{output}: the output must end in .parquet or .csv")
    return kind


def bad_rows_path(opts: ScoreOptions, output: Path) -> Path:
    """Where ``--bad-rows skip`` writes the bad rows: ``--bad-rows-file``, else ``<output>.bad-rows.csv``."""
    return Path(opts.bad_rows_file or output.with_name(output.stem + ".bad-rows.csv"))


def writable_folder(folder: Path) -> None:
    """ScoreError unless this process may create files in ``folder`` (the image's non-root user on a mounted
    output folder it does not own: see generators/docker/README.md, "Batch scoring entrypoint")."""
    if not folder.is_dir():
        raise ScoreError(f"{folder}: no such folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ScoreError(f"{folder}: this user (uid {os.getuid()}) cannot write files in this folder; make it "
                         f"writable for it (chown, or the pod's securityContext.fsGroup)")


def kept_columns(keep: list[str] | None, names: list[str], features: list[str], where: str) -> list[str]:
    """The input columns copied to the output: ``keep`` (each one of ``names``), or every non-feature column."""
    keep = keep if keep is not None else [n for n in names if n not in features]
    unknown = [k for k in keep if k not in names]
    if unknown:
        raise ScoreError(f"{where}: --keep column{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(k) for k in unknown)} not in it (it has: {', '.join(names)})")
    return keep


def read_batches(path: Path, features: list[str], chunk_rows: int, *, text: tuple[str, ...] = (),
                 keep: list[str] | None = None, check: Callable[[list[str]], None] | None = None) -> Iterator[Any]:
    """Record batches of ``path``; a CSV's feature columns come as text (parsed per feature later).

    ``text``: the text features, read as dictionaries (a Parquet column's own dictionary, kept: no string per
    row is decoded); ``keep``: when given, a Parquet file's other columns are not read at all; ``check``: called
    with the file's column names before the first batch is read."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    try:
        if SUFFIXES[path.suffix.lower()] == "parquet":
            schema = pq.read_schema(path)  # the footer: which columns, before the reader's options are fixed
            if check is not None:
                check(schema.names)
            columns = None if keep is None else [n for n in schema.names if n in features or n in keep]
            dictionary = [n for n in text if n in schema.names and n not in (keep or ())
                          and (pa.types.is_string(schema.field(n).type) or pa.types.is_large_string(schema.field(n).type))]
            # pre-buffering holds read ranges: RSS grew with the file
            with pq.ParquetFile(path, pre_buffer=False, read_dictionary=dictionary or None) as pf:
                yield from pf.iter_batches(batch_size=chunk_rows, columns=columns)
            return
        types = {n: pa.dictionary(pa.int32(), pa.string()) if n in text and n not in (keep or ()) else pa.string()
                 for n in features}
        convert = pcsv.ConvertOptions(column_types=types, strings_can_be_null=True)
        # block_size bounds each read; ~200 bytes a row is a fair guess for tabular data
        read = pcsv.ReadOptions(block_size=max(1 << 20, min(chunk_rows * 200, 64 << 20)))
        with pcsv.open_csv(path, read_options=read, convert_options=convert) as reader:
            if check is not None:
                check(reader.schema.names)
            yield from reader
    except (pa.ArrowInvalid, OSError) as exc:
        raise ScoreError(f"{path}: cannot read it: {str(exc).strip()[:300]}") from None


class _Progress:
    def __init__(self, enabled: bool | None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.last = 0.0

    def show(self, rows: int, final: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not final and now - self.last < 0.5):
            return
        self.last = now
        rate = rows / max(now - self.start, 1e-9)
        sys.stderr.write(f"\rscored {rows:,} rows  {rate:,.0f} rows/s" + ("\n" if final else ""))
        sys.stderr.flush()


class _AtomicFile:
    """A file written under a temporary name and renamed into place by :meth:`commit` (else removed)."""

    def __init__(self, path: Path):
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


class _TableWriter:
    """Parquet or CSV, opened on the first batch (its schema), written batch by batch."""

    def __init__(self, target: _AtomicFile, kind: str):
        self.target, self.kind, self.writer = target, kind, None

    def write(self, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        if self.writer is None:
            if self.kind == "parquet":  # dictionaries for text only: on float columns they cost a third of the run
                text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
                self.writer = pq.ParquetWriter(self.target.tmp, table.schema, use_dictionary=text)
            else:
                self.writer = pcsv.CSVWriter(self.target.tmp, table.schema)
        elif table.schema != self.writer.schema if self.kind == "parquet" else False:
            table = table.cast(self.writer.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def score_files(scorer: TableScorer, input_path: str | Path, output_path: str | Path,
                options: ScoreOptions | None = None) -> ScoreReport:
    """Score every row of ``input_path`` into ``output_path``; ScoreError on bad input (nothing written)."""
    import pyarrow as pa

    opts = options or ScoreOptions()
    if opts.bad_rows not in BAD_ROWS:
        raise ScoreError(f"--bad-rows: expected fail or skip, got {opts.bad_rows!r}")
    files = input_files(Path(input_path))
    output = Path(output_path)
    kind = output_kind(output)
    if not output.parent.is_dir():
        raise ScoreError(f"{output.parent}: no such folder for the output")
    report = ScoreReport()
    progress = _Progress(opts.progress)
    started = time.perf_counter()
    out_file = _AtomicFile(output)
    targets = [out_file]
    bad_file = capture_file = None
    if opts.bad_rows == "skip":
        bad_file = _AtomicFile(bad_rows_path(opts, output))
        targets.append(bad_file)
    if opts.capture is not None:
        capture_file = _AtomicFile(Path(opts.capture))
        targets.append(capture_file)
    for t in targets:
        writable_folder(t.path.parent)
    writer = _TableWriter(out_file, kind)
    committed = False
    _Stop.deferred = True
    try:
        with ExitStack() as stack:
            stack.callback(writer.close)
            bad_writer = None
            if bad_file is not None:
                bad_writer = stack.enter_context(open(bad_file.tmp, "w", encoding="utf-8", newline=""))
                bad_writer.write("file,row,column,reason,values\n")
            capture = None
            if capture_file is not None:
                from mlready.runtime.score.capture import CaptureWriter

                capture = stack.enter_context(CaptureWriter(capture_file.tmp, scorer))
            behind = WriteBehind(writer.write)  # the output is encoded and written while the next batch scores
            stack.callback(behind.abort)
            try:
                for path in files:
                    _score_file(scorer, path, opts, behind, bad_writer, capture, report, progress)
                behind.close()
            except OSError as exc:  # reading errors are ScoreErrors already: this is a write (disk full, ...)
                raise ScoreError(f"{output}: cannot write it: {str(exc).strip()[:300]}") from None
            if writer.writer is None:  # no rows at all: still a valid, empty output with the columns
                writer.write(pa.table({n: pa.nulls(0, pa.string()) for n in (opts.keep or [])}))
        _Stop.check()
        for t in targets:
            t.commit()
        committed = True
    finally:
        _Stop.deferred = False
        if not committed:
            for t in targets:
                t.discard()
    report.seconds = time.perf_counter() - started
    report.outputs = [str(t.path) for t in targets]
    progress.show(report.rows, final=True)
    return report


def _score_file(scorer: TableScorer, path: Path, opts: ScoreOptions, out: WriteBehind, bad_writer: Any,
                capture: Any, report: ScoreReport, progress: _Progress) -> None:
    import pyarrow as pa

    features = scorer.feature_names
    offset = 0  # rows of this file before the batch
    csv = SUFFIXES[path.suffix.lower()] == "csv"
    keep: list[str] = []

    def check(names: list[str]) -> None:  # the file's columns, before its first batch is read
        scorer.check_columns(names, str(path))
        keep[:] = kept_columns(opts.keep, names, features, str(path))

    batches = ReadAhead(read_batches(path, features, opts.chunk_rows, text=scorer.text_features, keep=opts.keep,
                                     check=check))
    try:
        for batch in batches:
            _Stop.check()
            scored = scorer.score(batch, str(path))
            for i, column, reason in scored.bad:
                row = offset + i + 1
                where = f"{path}: row {row}" + (f" (line {row + 1})" if csv else "")
                if opts.bad_rows == "fail":
                    value = batch.column(column)[i].as_py()
                    raise ScoreError(f"{where}, column '{column}': {reason} (value {value!r}); "
                                     f"--bad-rows skip writes such rows to a side file instead")
                values = orjson.dumps(batch.slice(i, 1).to_pylist()[0], default=str).decode()
                bad_writer.write(_csv_line([str(path), str(row), column, reason, values]))
            kept = batch.select(keep) if keep else None
            if scored.good is not None and kept is not None:
                kept = kept.filter(arrays.from_numpy(scored.good))
            n = batch.num_rows - len(scored.bad)
            cols = {} if kept is None else {name: kept.column(name) for name in keep}
            cols.update(scorer.arrow_predictions(scored))
            if n:
                out.put(pa.table(cols))
                if capture is not None:
                    capture.write(scored, n)
            offset += batch.num_rows
            report.rows += batch.num_rows
            report.scored += n
            report.bad += len(scored.bad)
            progress.show(report.rows)
    finally:
        batches.close()


def _csv_line(fields: list[str]) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()
