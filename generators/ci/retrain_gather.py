"""The retrain pipeline's ``gather`` stage: captured production rows joined with their late labels, written as
the next training set (run by DVC: ``python -m mlready.generators.ci.retrain_gather ...``, see ``retrain.py``).

Inputs: the capture files (``*.jsonl`` under a folder, the server's record format: ``id``, ``rows``, ``inputs``
by feature name) and a label file (CSV or Parquet) with ``request_id``, the target column and, for requests of
several rows, ``row`` (0-based; default 0). Output: the base training set (when given) followed by one row per
label whose request was captured, in the base's column order. Labels of requests that were not captured, rows
with a redacted or missing feature and duplicate labels are counted and reported, never guessed. The file is
written atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

REDACTED = "[redacted]"


class GatherError(Exception):
    """Bad input, named by file (and line or column)."""


def read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise GatherError(f"{path}: not found")
    # request ids are text: a client's X-Request-Id "00042" must not be read as the number 42
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype={"request_id": str})


def read_capture(folder: Path, keep: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """request id -> record, from every ``*.jsonl`` under ``folder`` (a malformed line names file and line);
    with ``keep``, only the records of those ids are held (memory grows with the labels, not the capture)."""
    if folder.is_file():  # one capture file (mlready monitor --capture FILE)
        files = [folder]
    elif folder.is_dir():
        files = sorted(folder.rglob("*.jsonl"))
    else:
        raise GatherError(f"{folder}: not a folder of capture files")
    records: dict[str, dict[str, Any]] = {}
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    rid = str(rec["id"])
                    if keep is None or rid in keep:
                        records[rid] = rec
                except (ValueError, KeyError, TypeError) as exc:
                    raise GatherError(f"{path}:{n}: not a capture record ({exc})") from None
    return records


def join(records: dict[str, dict[str, Any]], lab: pd.DataFrame,
         counts: dict[str, int]) -> Iterator[tuple[int, str, int, dict[str, Any], dict[str, Any]]]:
    """The label file's rows joined with their capture records: (label row index, request id, row in the
    request, record, label row), counting in ``counts`` labels not captured and duplicate (request, row)s."""
    seen: set[tuple[str, int]] = set()
    row_col = "row" in lab.columns
    for i, item in enumerate(lab.to_dict("records")):
        rid = str(item["request_id"])
        row = int(item["row"]) if row_col and pd.notna(item["row"]) else 0
        rec = records.get(rid)
        if rec is None:
            counts["not_captured"] += 1
            continue
        if (rid, row) in seen:
            counts["duplicate"] += 1
            continue
        seen.add((rid, row))
        yield i, rid, row, rec, item


def gather(capture: Path, labels: Path, target: str, base: Path | None) -> tuple[pd.DataFrame, dict[str, int]]:
    """(the next training set, counts of what was used and left out)."""
    records = read_capture(capture)
    lab = read_table(labels)
    for column in ("request_id", target):
        if column not in lab.columns:
            raise GatherError(f"{labels}: no column {column!r} (columns: {', '.join(map(str, lab.columns))})")
    frame = read_table(base) if base is not None else None
    if frame is not None and target not in frame.columns:
        raise GatherError(f"{base}: no target column {target!r}")
    counts = {"labels": len(lab), "used": 0, "not_captured": 0, "unusable": 0, "duplicate": 0}
    rows: list[dict[str, Any]] = []
    features: list[str] | None = [c for c in frame.columns if c != target] if frame is not None else None
    for _, rid, row, rec, item in join(records, lab, counts):
        inputs = rec.get("inputs") or {}
        names = features if features is not None else list(inputs)
        missing = [f for f in names if f not in inputs]
        if missing:  # a dropped field (serving.capture.drop): these records cannot train this model
            raise GatherError(f"{capture}: request {rid} has no feature {missing[0]!r} (it captured "
                              f"{', '.join(inputs) or 'nothing'}; serving.capture.drop must keep training features)")
        try:
            values = {f: inputs[f][row] for f in names}
        except (KeyError, IndexError, TypeError):
            counts["unusable"] += 1
            continue
        if any(v is None or v == REDACTED for v in values.values()):
            counts["unusable"] += 1
            continue
        values[target] = item[target]
        rows.append(values)
        counts["used"] += 1
    new = pd.DataFrame(rows)
    out = new if frame is None else pd.concat([frame, new.reindex(columns=frame.columns)], ignore_index=True)
    return out, counts


def write_atomic(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        if out.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mlready.generators.ci.retrain_gather", description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--capture", type=Path, required=True, help="folder of capture JSONL files")
    p.add_argument("--labels", type=Path, required=True, help="CSV/Parquet: request_id, the target, [row]")
    p.add_argument("--target", required=True, help="the target column")
    p.add_argument("--base", type=Path, default=None, help="training rows to keep (CSV/Parquet)")
    p.add_argument("--out", type=Path, required=True, help="the next training set")
    args = p.parse_args(argv)
    try:
        frame, counts = gather(args.capture, args.labels, args.target, args.base)
    except GatherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not counts["used"]:
        print(f"error: no labelled production row in {args.capture} matches {args.labels} "
              f"({counts['labels']} labels, {counts['not_captured']} not captured, {counts['unusable']} unusable)",
              file=sys.stderr)
        return 1
    write_atomic(frame, args.out)
    print(f"{args.out}: {len(frame)} rows ({counts['used']} labelled production rows added; left out: "
          f"{counts['not_captured']} not captured, {counts['unusable']} redacted or incomplete, "
          f"{counts['duplicate']} duplicate labels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
