"""The retrain job's guard: the trainer must train on the training set the gather stage wrote, not replace it.

    python -m mlready.generators.ci.retrain_guard record data/train.csv   # before the trainer
    python -m mlready.generators.ci.retrain_guard verify data/train.csv   # after it: exit 1 if it changed

A trainer that makes its own data (a ``train.py`` that downloads or splits a dataset and writes ``data.train``)
would otherwise train on that and silently drop the labelled production rows the retrain gathered. The retrain
job exports ``MLREADY_RETRAIN_DATA`` (``data.train``'s path) before the trainer runs: the ``train.py`` of
``mlready new`` and of the examples then train on that file as it is. The digest is kept in
``.mlready/retrain-data.sha256`` (mlready's own state folder, never committed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlready.engine.plugin import file_digest as digest

STAMP = Path(".mlready") / "retrain-data.sha256"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mlready.generators.ci.retrain_guard",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("record", "verify"), help="record the digest before the trainer; verify after")
    p.add_argument("data", type=Path, help="the training set the gather stage wrote (data.train)")
    args = p.parse_args(argv)
    if not args.data.is_file():
        print(f"error: {args.data}: not found (the gather stage writes it: run it first)", file=sys.stderr)
        return 2
    if args.action == "record":
        STAMP.parent.mkdir(parents=True, exist_ok=True)
        STAMP.write_text(f"{digest(args.data)}  {args.data}\n", encoding="utf-8")
        return 0
    try:
        recorded, _, name = STAMP.read_text(encoding="utf-8").strip().partition("  ")
    except OSError:
        print(f"error: {STAMP}: not found (run `record {args.data}` before the trainer)", file=sys.stderr)
        return 2
    if name != str(args.data) or recorded != digest(args.data):
        print(f"error: {args.data} changed while the trainer ran: it replaced the training set the gather stage "
              "wrote, so this model was not trained on the labelled production rows. Make the trainer train on "
              f"{args.data} as it is when MLREADY_RETRAIN_DATA is set (the train.py of `mlready new` and of the "
              "examples do), or set ci.<system>.produce to commands that do.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
