"""Batch scoring throughput and memory: ``mlready score`` vs the source scikit-learn pipeline, side by side.

    .venv/bin/python benchmarks/bench_score.py [--rows 2000000 8000000] [--chunk-rows 65536] [--jobs 0]

On a built copy of the mixed-type example (examples/tabular: two text categories, three numbers with missing
values, a boolean; a ColumnTransformer + logistic regression, served as a per-column ONNX), for each size it
writes a Parquet table of that many rows (the example's eval rows resampled, plus an id column), then runs,
each in its own process (peak RSS from ``wait4``):

- ``mlready score``: the real CLI, Parquet in, Parquet out (id kept, label and class probabilities);
- ``sklearn``: the same file read in the same chunks, ``pipeline.predict_proba`` and ``predict`` on each chunk
  as a pandas DataFrame, the same columns written to Parquet as it goes.

Prints rows/s, CPU seconds (user + system, all threads) and peak RSS of both, and the ratios of their wall and
CPU times (on a shared machine the CPU ratio is the steadier figure). Wall times include each process's start
(imports, model load). This process imports nothing heavy and builds and generates in subprocesses: on Linux an exec'd
child's peak RSS starts from its parent's at fork, so a big parent would hide the children's figures. Goals: mlready >= 5x the rows/s of sklearn's predict over the same chunks (its scoring rows/s, each process's own
figure from its first chunk read to its output written; the whole-process ratio, start-up included, is printed
beside it); mlready's peak RSS
independent of the input size (the 8M-row run within a few MB of the 2M-row run).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tabular"
FEATURES = ["state", "plan", "tenure_months", "monthly_charges", "support_calls", "autopay"]

SKLEARN = """
import sys, time, joblib, numpy as np, pyarrow as pa, pyarrow.parquet as pq
pipeline = joblib.load(sys.argv[1])
names = np.array(["stays", "churns"], dtype=object)
writer = None
started, rows = time.perf_counter(), 0
with pq.ParquetFile(sys.argv[2]) as pf:
    for batch in pf.iter_batches(batch_size=int(sys.argv[4])):
        rows += batch.num_rows
        frame = batch.to_pandas()
        proba = pipeline.predict_proba(frame[FEATURES])
        label = names[pipeline.predict(frame[FEATURES])]
        out = pa.table({"customer_id": batch.column("customer_id"), "label": label.tolist(),
                        "probability_stays": proba[:, 0], "probability_churns": proba[:, 1]})
        writer = writer or pq.ParquetWriter(sys.argv[3], out.schema)
        writer.write_table(out)
writer.close()
print(f"scored {rows} rows ({rows / (time.perf_counter() - started):.0f} rows/s)", file=sys.stderr)
""".replace("FEATURES", repr(FEATURES))


def run(cmd: list[str]) -> tuple[float, float, float, float]:
    """Wall seconds, CPU seconds (user + system, every thread), peak RSS (MB) of one process, and the rows/s it
    reports of its scoring alone (from reading the first chunk to the output written: after its imports and
    model load, the part that grows with the input)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{err}")
    scoring = re.findall(r"\(([\d,]+) rows/s\)", err)
    if not scoring:
        raise SystemExit(f"{cmd[:3]} printed no rows/s:\n{err}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, float(scoring[-1].replace(",", ""))


def table(rows: int, path: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    src = pcsv.read_csv(EXAMPLE / "data" / "eval.csv").select(FEATURES)
    rng = np.random.default_rng(0)
    with pq.ParquetWriter(path, src.schema.insert(0, pa.field("customer_id", pa.int64()))) as writer:
        step = 1_000_000
        for start in range(0, rows, step):
            n = min(step, rows - start)
            part = src.take(pa.array(rng.integers(0, src.num_rows, n)))
            writer.write_table(part.add_column(0, "customer_id", pa.array(np.arange(start, start + n))),
                               row_group_size=131072)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generate", nargs=2, metavar=("ROWS", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 8_000_000])
    parser.add_argument("--chunk-rows", type=int, default=65536)
    parser.add_argument("--jobs", type=int, default=0, help="mlready score -j (0: all cores)")
    args = parser.parse_args()
    if args.generate:
        table(int(args.generate[0]), Path(args.generate[1]))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-score-"))
    try:
        project = work / "tabular"
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__"))
        cli = str(Path(sys.executable).with_name("mlready"))
        subprocess.run([cli, "build", "-q", "-C", str(project), "tracking.enabled=false"], check=True)
        mlready = [cli, "score", "-C", str(project), "--no-progress",
                   "--keep", "customer_id", "--chunk-rows", str(args.chunk_rows), "-j", str(args.jobs)]
        print(f"{'rows':>10} {'engine':>8} {'seconds':>8} {'rows/s':>11} {'scoring rows/s':>15} {'CPU s':>7} "
              f"{'peak RSS MB':>12}")
        ratios, peaks = [], []
        for rows in args.rows:
            data = work / f"in-{rows}.parquet"
            subprocess.run([sys.executable, __file__, "--generate", str(rows), str(data)], check=True)
            ours = run([*mlready, "-i", str(data), "-o", str(work / "mlready.parquet")])
            theirs = run([sys.executable, "-c", SKLEARN, str(project / "model.joblib"), str(data),
                          str(work / "sklearn.parquet"), str(args.chunk_rows)])
            for name, (sec, cpu, rss, scoring) in (("mlready", ours), ("sklearn", theirs)):
                print(f"{rows:>10,} {name:>8} {sec:>8.1f} {rows / sec:>11,.0f} {scoring:>15,.0f} {cpu:>7.1f} "
                      f"{rss:>12.0f}")
            ratios.append((rows, theirs[0] / ours[0], ours[3] / theirs[3]))
            peaks.append(ours[2])
            print(f"{'':>10} {'ratio':>8} {'':>8} {theirs[0] / ours[0]:>10.1f}x {ours[3] / theirs[3]:>14.1f}x "
                  f"{theirs[1] / ours[1]:>6.1f}x")
            data.unlink()
        print("goals (scoring rows/s: from the first chunk read to the output written, after each process's imports "
              "and model load; rows/s: the whole process):")
        for rows, whole, scoring in ratios:
            print(f"  [{'met ' if scoring >= 5 else 'MISS'}] {rows:,} rows: >= 5x scikit-learn's scoring rows/s: "
                  f"{scoring:.1f}x (whole process, start-up included: {whole:.1f}x)")
        if len(peaks) > 1:
            grow = max(peaks) - min(peaks)
            print(f"  [{'met ' if grow <= 0.1 * min(peaks) else 'MISS'}] peak RSS independent of the input size: "
                  f"{' / '.join(f'{p:.0f}' for p in peaks)} MB (spread {grow:.0f} MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
