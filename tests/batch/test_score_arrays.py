"""The scoring loop's Arrow <-> numpy conversions through buffers (runtime/score/arrays.py) give what pyarrow's
own conversions give, for sliced (offset) and chunked arrays, with and without missing values; columns.convert
reads dictionary and chunked text the same as plain text; the read-ahead and write-behind threads keep order,
raise their errors in the scoring thread and stop when asked."""

from __future__ import annotations

import threading
import time

import numpy as np
import pyarrow as pa
import pytest
from mlready.runtime.features import Feature
from mlready.runtime.score import arrays
from mlready.runtime.score.columns import convert
from mlready.runtime.score.overlap import ReadAhead, WriteBehind

NUMBERS = [
    pa.array([1.5, None, -2.0, 3.25, None, 7.0], pa.float64()),
    pa.array([1.5, 2.0, -2.0], pa.float32()),
    pa.array([1, None, -3, 2**40, 5], pa.int64()),
    pa.array([1, 2, 250], pa.uint8()),
    pa.array([7, None, -7], pa.int16()),
    pa.array([True, None, False, True, True, False, None, True, False, True], pa.bool_()),
    pa.array([], pa.float64()),
]


def _variants(arr):
    yield arr
    if len(arr) > 2:
        yield arr.slice(1)  # a non-zero offset: bits and values start mid-buffer
        yield arr.slice(2, len(arr) - 3)
    yield pa.chunked_array([arr, arr.slice(1)], type=arr.type)


@pytest.mark.parametrize("arr", NUMBERS, ids=lambda a: str(a.type))
def test_to_numpy_and_nulls_equal_pyarrows_own(arr):
    for column in _variants(arr):
        want = column.to_numpy() if isinstance(column, pa.ChunkedArray) else column.to_numpy(zero_copy_only=False)
        missing = arrays.nulls(column)
        got = arrays.to_numpy(column)
        expected_missing = np.asarray(column.is_null())
        if column.null_count:
            assert missing is not None and (missing == expected_missing).all()
            valid = ~missing
        else:
            assert missing is None
            valid = np.ones(len(column), dtype=bool)
        assert len(got) == len(column)
        assert (got[valid] == np.asarray(want)[valid].astype(got.dtype)).all()


@pytest.mark.parametrize("values", [np.array([0.5, -1.0, 2.0], np.float32), np.arange(5, dtype=np.int64),
                                    np.array([True, False, True] * 5), np.array(["stays", "churns", "ü"], object),
                                    np.arange(10, dtype=np.float64)[::3]])
def test_from_numpy_equals_pa_array(values):
    got = arrays.from_numpy(values)
    want = pa.array(values, type=pa.string() if values.dtype.kind == "O" else None)
    assert got.type == want.type and got.equals(want)


def test_strings_keep_missing_values():
    got = arrays.strings(["a", None, "ç", ""])
    assert got.type == pa.string() and got.to_pylist() == ["a", None, "ç", ""]


TEXT = Feature(name="state", datatype="BYTES", input="state", index=None)


@pytest.mark.parametrize("column", [
    pa.array(["TX", None, "CA", "TX"]),
    pa.array(["TX", None, "CA", "TX"]).dictionary_encode(),
    pa.chunked_array([pa.array(["TX", None]), pa.array(["CA", "TX"])]),
    pa.array(["x", "TX", None, "CA", "TX"]).slice(1),
    pa.array(["TX", None, "CA", "TX"], pa.large_string()),
], ids=["plain", "dictionary", "chunked", "sliced", "large"])
def test_text_column_reads_the_same_whatever_its_layout(column):
    conv = convert(TEXT, column)
    assert conv.values.dtype == object and conv.values.tolist() == ["TX", "", "CA", "TX"]
    assert conv.bad.tolist() == [False, True, False, False] and conv.reason == "missing value"


def test_text_booleans_and_numbers_name_their_bad_rows():
    flag = Feature(name="autopay", datatype="BOOL", input="autopay", index=None)
    conv = convert(flag, pa.array([" True", "0", "maybe", None, "FALSE"]))
    assert conv.values[[0, 1, 4]].tolist() == [True, False, False]
    assert conv.bad.tolist() == [False, False, True, True, False]
    number = Feature(name="tenure", datatype="INT32", input="tenure", index=None)
    conv = convert(number, pa.array(["12", " 3 ", "twelve", "", None, "99999999999"]))
    assert conv.values[:2].tolist() == [12, 3]
    assert conv.bad.tolist() == [False, False, True, True, True, True]
    real = Feature(name="charges", datatype="FP32", input="charges", index=None)
    conv = convert(real, pa.array([1.5, None, float("inf")]).slice(0))
    assert conv.values[0] == 1.5 and np.isnan(conv.values[1]) and conv.bad.tolist() == [False, False, True]


def test_read_ahead_keeps_order_bounds_its_lead_and_raises_in_order():
    produced = []

    def source():
        for i in range(100):
            produced.append(i)
            yield i
        raise ValueError("bad file")

    reader = ReadAhead(source(), depth=2)
    items = iter(reader)
    assert next(items) == 0
    time.sleep(0.3)
    assert len(produced) <= 4  # the one handed over, two queued, one waiting to be queued
    rest = []
    with pytest.raises(ValueError, match="bad file"):
        for item in items:
            rest.append(item)
    assert rest == list(range(1, 100))
    reader.close()


def test_read_ahead_close_stops_a_blocked_producer_and_closes_its_source():
    closed = threading.Event()

    def source():
        try:
            yield from range(10**9)
        finally:
            closed.set()

    reader = ReadAhead(source(), depth=1)
    assert next(iter(reader)) == 0
    reader.close()
    assert closed.is_set() and not reader._thread.is_alive()


def test_write_behind_writes_in_order_and_raises_the_write_error():
    written = []
    behind = WriteBehind(written.append, depth=2)
    for i in range(50):
        behind.put(i)
    behind.close()
    assert written == list(range(50))

    def failing(item):
        if item == 3:
            raise OSError(28, "No space left on device")

    behind = WriteBehind(failing, depth=1)
    with pytest.raises(OSError, match="No space left"):
        for i in range(100):
            behind.put(i)
        behind.close()
    behind.abort()


@pytest.mark.parametrize("text_type", [pa.string(), pa.large_string()])
def test_parquet_text_features_are_read_as_dictionaries_unless_kept(tmp_path, text_type):
    import pyarrow.parquet as pq
    from mlready.runtime.score.stream import read_batches

    table = pa.table({"id": [1, 2, 3], "state": pa.array(["TX", "CA", "TX"], text_type),
                      "plan": pa.array(["a", "b", None], text_type), "other": [0.5, 1.5, 2.5]})
    pq.write_table(table, tmp_path / "in.parquet")
    seen = []
    (batch,) = read_batches(tmp_path / "in.parquet", ["state", "plan"], 10, text=("state", "plan"),
                            keep=["id", "plan"], check=seen.append)
    assert seen == [["id", "state", "plan", "other"]]  # the whole file's columns, before reading
    assert batch.schema.names == ["id", "state", "plan"]  # "other" is neither a feature nor kept: not read
    assert pa.types.is_dictionary(batch.schema.field("state").type)
    assert batch.schema.field("plan").type == text_type  # kept: written out as it came in
    assert convert(TEXT, batch.column("state")).values.tolist() == ["TX", "CA", "TX"]
