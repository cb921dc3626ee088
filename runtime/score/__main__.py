"""``python -m mlready.runtime.score``: batch scoring inside the image (its ``score`` entrypoint), or anywhere
the runtime is: ``--model`` is a model folder (model.onnx + metadata.json/signature.json) or model.onnx.

    python -m mlready.runtime.score --model /opt/mlready/models/churn/1 --input /data/in.parquet \\
        --output /data/preds.parquet [--keep id] [--bad-rows skip] [--capture FILE] [-j N]

Exit codes: 0 done, 1 bad input (the message names the file, row and column; nothing written), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlready.runtime.score",
                                     description="Score a CSV/Parquet file or folder with a model.")
    parser.add_argument("command", nargs="?", choices=["score"], help="optional (the image's entrypoint word)")
    parser.add_argument("--model", required=True, help="model folder (model.onnx + metadata.json) or model.onnx")
    parser.add_argument("-i", "--input", required=True)
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--keep", action="append", default=None, metavar="COLUMN")
    parser.add_argument("--bad-rows", choices=["fail", "skip"], default="fail")
    parser.add_argument("--bad-rows-file", default=None)
    parser.add_argument("--capture", default=None)
    parser.add_argument("--chunk-rows", type=int, default=65536)
    parser.add_argument("-j", "--jobs", type=int, default=0)
    args = parser.parse_args(argv)
    if args.chunk_rows < 1 or args.jobs < 0:
        parser.error("--chunk-rows must be >= 1 and --jobs >= 0")

    from mlready.runtime.score.stream import ScoreOptions, interrupt_on_sigterm, score_files, use_jemalloc

    use_jemalloc()  # before pyarrow is imported
    from mlready.runtime.score.scorer import ScoreError, TableScorer

    interrupt_on_sigterm()
    try:
        scorer = TableScorer.load(args.model, threads=args.jobs)
        report = score_files(scorer, args.input, args.output, ScoreOptions(
            keep=args.keep, bad_rows=args.bad_rows, bad_rows_file=Path(args.bad_rows_file) if args.bad_rows_file
            else None, capture=Path(args.capture) if args.capture else None, chunk_rows=args.chunk_rows))
    except ScoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    print(f"scored {report.scored} of {report.rows} rows in {report.seconds:.1f}s -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
