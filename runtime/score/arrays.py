"""Arrow <-> numpy for the scoring loop, through buffers.

pyarrow imports pandas, when it is installed, the first time it converts an array to numpy (``to_numpy``,
``np.asarray``) or builds one from Python objects (``pa.array``, ``pa.scalar``, a Python scalar given to a
compute function): 0.3 s, a fifth of ``mlready score`` on 2M rows, for a library the scorer never uses. These
helpers read and write the arrays' buffers instead (zero-copy where the layout allows), for the types the
scorer meets: numbers, booleans (bit-packed), validity bitmaps and UTF-8 text.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _array(column: Any) -> Any:
    """One contiguous Array from an Array or a ChunkedArray."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    return column


def _bits(buffer: Any, offset: int, length: int) -> np.ndarray:
    raw = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(raw, count=offset + length, bitorder="little")[offset:].view(bool)


def nulls(column: Any) -> np.ndarray | None:
    """The bool mask of missing values (None when there are none)."""
    arr = _array(column)
    if not arr.null_count:
        return None
    validity = arr.buffers()[0]
    return ~_bits(validity, arr.offset, len(arr))


def to_numpy(column: Any) -> np.ndarray:
    """A numeric or boolean column's values (read-only view when possible); missing values hold whatever the
    buffer holds there: mask them with :func:`nulls`."""
    import pyarrow as pa

    arr = _array(column)
    typ = arr.type
    data = arr.buffers()[1]
    n, offset = len(arr), arr.offset
    if pa.types.is_boolean(typ):
        return _bits(data, offset, n) if n else np.zeros(0, dtype=bool)
    if pa.types.is_floating(typ):
        dtype = np.dtype(f"f{typ.bit_width // 8}")
    elif pa.types.is_integer(typ):
        dtype = np.dtype(f"{'i' if pa.types.is_signed_integer(typ) else 'u'}{typ.bit_width // 8}")
    else:
        raise TypeError(f"not a numeric or boolean column: {typ}")
    if data is None or n == 0:
        return np.zeros(n, dtype=dtype)
    return np.frombuffer(data, dtype=dtype, count=offset + n)[offset:]


def from_numpy(values: np.ndarray) -> Any:
    """A 1-D numeric, boolean or object (str) numpy array as an Arrow array (no nulls)."""
    import pyarrow as pa

    values = np.asarray(values)
    n = len(values)
    if values.dtype.kind == "O":
        return strings(values.tolist())
    if values.dtype.kind == "b":
        packed = np.packbits(values.astype(bool, copy=False), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(packed)])
    contiguous = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(contiguous.dtype), n, [None, pa.py_buffer(contiguous)])


def strings(values: list[Any]) -> Any:
    """A UTF-8 string array of ``values`` (each str()-ed; None stays missing)."""
    import pyarrow as pa

    encoded = [b"" if v is None else str(v).encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    large = offsets[-1] >= 2**31
    missing = np.array([v is None for v in values], dtype=bool)
    validity = pa.py_buffer(np.packbits(~missing, bitorder="little")) if missing.any() else None
    return pa.Array.from_buffers(pa.large_string() if large else pa.string(), len(encoded),
                                 [validity, pa.py_buffer(offsets if large else offsets.astype(np.int32)),
                                  pa.py_buffer(b"".join(encoded))])
