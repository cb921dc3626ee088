"""Where captured predictions go: rotating JSONL files, stdout, or an HTTP collector (CloudEvents batches).

A sink's ``write_encoded`` takes a batch as its JSON lines (texts of one or more lines: the capture makes them,
on the event loop's thread when it can, ``runtime/capture.py``), ``write`` takes it as records (dicts, see
``runtime/README.md``); both raise on failure (a full disk, a dead collector): the writer thread counts the
batch as dropped, and the next batch tries again. Sinks run on the capture writer thread only: nothing here is
called on a request's path.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from mlready.runtime.config import CaptureConfig

_DUMP = orjson.OPT_SERIALIZE_NUMPY
LINE = _DUMP | orjson.OPT_APPEND_NEWLINE
EVENT_TYPE = "dev.mlready.prediction.v1"  # the CloudEvents ``type`` of a captured prediction
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


def _default(obj: Any) -> Any:
    """What orjson cannot write natively: bytes as text, non-contiguous arrays and numpy scalars as lists."""
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def dumps(record: dict[str, Any], option: int = _DUMP) -> bytes:
    return orjson.dumps(record, default=_default, option=option)


def json_lines(records: list[dict[str, Any]]) -> list[bytes]:
    """The records' JSON lines (what the file and stdout sinks write)."""
    return [dumps(r, LINE) for r in records]


def each_line(texts: list[bytes]) -> Any:
    """The lines of ``texts`` (each holds one or more whole JSON lines: JSON text has no raw line breaks)."""
    for text in texts:
        if text.count(b"\n") > 1:
            yield from text.splitlines(keepends=True)
        else:
            yield text


class Sink:
    """A sink: ``write_encoded`` takes JSON lines, ``write`` makes them from records."""

    def write(self, records: list[dict[str, Any]]) -> None:
        self.write_encoded(json_lines(records))

    def write_encoded(self, lines: list[bytes]) -> None:
        raise NotImplementedError


class FileSink(Sink):
    """JSONL files ``capture-<UTC time>-<host>-<pid>-<n>.jsonl`` in ``directory`` (the host name and pid keep
    the files of pods and workers sharing a volume apart): a file is closed past ``max_file_bytes`` or
    ``max_file_age_s`` (the next record starts a new one) and the oldest files in the directory beyond
    ``max_files`` are deleted, whoever wrote them. A record is never split across files; one longer than the
    limit gets a file of its own."""

    name = "file"

    def __init__(self, conf: CaptureConfig):
        self.dir = Path(conf.directory)
        self.max_bytes, self.max_age, self.max_files = conf.max_file_bytes, conf.max_file_age_s, conf.max_files
        self._file: Any = None
        self._size = 0
        self._opened = 0.0
        self._seq = 0
        host = "".join(c if c.isalnum() or c in "-." else "_" for c in os.uname().nodename)[:63] or "host"
        self.owner = f"{host}-{os.getpid()}"

    def write_encoded(self, lines: list[bytes]) -> None:
        try:
            if self._file is not None:  # the common case: the whole batch fits the current file, one write
                text = b"".join(lines)
                if self._size + len(text) <= self.max_bytes:
                    self._file.write(text)
                    self._size += len(text)
                    self._file.flush()
                    return
            for line in each_line(lines):
                if self._file is not None and self._size and self._size + len(line) > self.max_bytes:
                    self._close()
                if self._file is None:
                    self._open()
                self._file.write(line)
                self._size += len(line)
            self._file.flush()
        except OSError:
            self._close()  # a full disk: the next batch starts a new file (after pruning old ones)
            raise

    def tick(self) -> None:
        """Close the current file once it is older than ``max_file_age_s`` (called by the writer when idle)."""
        if self._file is not None and time.monotonic() - self._opened >= self.max_age:
            self._close()

    def _open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = self.dir / f"capture-{stamp}-{self.owner}-{self._seq:06d}.jsonl"
        self._prune(keep=self.max_files - 1)
        self._file = open(path, "ab")  # noqa: SIM115 - held open across batches, closed by _close
        self._size, self._opened = 0, time.monotonic()

    def _prune(self, keep: int) -> None:
        files = sorted(self.dir.glob("capture-*.jsonl"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        for old in files[: max(0, len(files) - keep)]:
            old.unlink(missing_ok=True)

    def _close(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def close(self) -> None:
        self._close()


class StdoutSink(Sink):
    """One JSON line per record on stdout (the server's logs are on stderr)."""

    name = "stdout"

    def __init__(self, conf: CaptureConfig, stream: Any = None):
        self.stream = stream if stream is not None else sys.stdout.buffer

    def write_encoded(self, lines: list[bytes]) -> None:
        self.stream.write(b"".join(lines))
        self.stream.flush()

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


class HttpSink(Sink):
    """One ``POST`` per batch to the collector: a JSON array of CloudEvents 1.0 (structured batch mode,
    ``application/cloudevents-batch+json``), each event's ``data`` a record. Any answer but 2xx, a refused
    connection or a timeout fails the batch. Proxies from the environment are ignored (the URL is the one the
    spec names)."""

    name = "http"

    def __init__(self, conf: CaptureConfig):
        assert conf.url is not None
        self.url, self.timeout = conf.url, conf.timeout_s
        self.source = f"/mlready/{os.uname().nodename}/{os.getpid()}"
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def write_encoded(self, lines: list[bytes]) -> None:
        """POST the records of ``lines`` as events: each line is an event's ``data`` as it is; its subject and
        time are read from the line's head (a record starts with its ``id`` and ``time``, then ``model``: a
        JSON string's escaped text never holds ``,"model":``)."""
        events = []
        for line in each_line(lines):
            head = orjson.loads(line[: line.index(b',"model":')] + b"}")
            events.append({"specversion": "1.0", "id": uuid.uuid4().hex, "source": self.source, "type": EVENT_TYPE,
                           "subject": head["id"], "time": head["time"], "datacontenttype": "application/json",
                           "data": orjson.Fragment(line)})
        self._post(orjson.dumps(events, option=_DUMP))

    def _post(self, body: bytes) -> None:
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Type": BATCH_CONTENT_TYPE})
        with self._opener.open(req, timeout=self.timeout) as resp:  # raises HTTPError on 4xx/5xx
            resp.read(65536)
            if not 200 <= resp.status < 300:
                raise OSError(f"the collector answered {resp.status}")

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def make_sink(conf: CaptureConfig) -> Any:
    return {"file": FileSink, "stdout": StdoutSink, "http": HttpSink}[conf.sink](conf)
