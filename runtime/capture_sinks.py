"""Where captured predictions go: rotating JSONL files, stdout, or an HTTP collector (CloudEvents batches).

A sink's ``write_encoded`` takes a batch as its JSON lines (texts of one or more lines: the capture makes them,
on the event loop's thread when it can, ``runtime/capture.py``), ``write`` takes it as records (dicts, see
``runtime/README.md``); both raise on failure (a full disk, a dead collector): the writer thread counts the
batch as dropped, and the next batch tries again. Sinks run on the capture writer thread only: nothing here is
called on a request's path.
"""

from __future__ import annotations

import io
import os
import socket
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from mlready.runtime.config import CaptureConfig

_DUMP = orjson.OPT_SERIALIZE_NUMPY
LINE = _DUMP | orjson.OPT_APPEND_NEWLINE
EVENT_TYPE = "dev.mlready.prediction.v1"  # the CloudEvents ``type`` of a captured prediction
FEEDBACK_EVENT_TYPE = "dev.mlready.feedback.v1"  # ... and of a feedback record (``"kind": "feedback"``)
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
    limit gets a file of its own.

    A batch is written whole or not at all: when a write fails (a full disk), the files it wrote to are cut back
    to their size before it and the files it started are deleted, so every file holds whole lines only and what
    the writer counts as written is on the disk. A failure neither rotates nor prunes: the next batch retries the
    same file, and old files are deleted for a new one only once it holds a batch (a full disk must not replace
    the history kept with empty files)."""

    name = "file"

    def __init__(self, conf: CaptureConfig):
        self.dir = Path(conf.directory)
        self.max_bytes, self.max_age, self.max_files = conf.max_file_bytes, conf.max_file_age_s, conf.max_files
        self._file: Any = None  # unbuffered (a raw file): nothing of a failed write is left to flush later
        self._path: Path | None = None
        self._size = 0  # the current file's bytes: whole lines, all written
        self._opened = 0.0
        self._seq = 0
        host = "".join(c if c.isalnum() or c in "-." else "_" for c in os.uname().nodename)[:63] or "host"
        self.owner = f"{host}-{os.getpid()}"
        self._probe()

    def _probe(self) -> None:
        """At startup: the directory exists (or is made) and takes a file, else the server does not start (a
        ValueError naming the key): a directory it cannot write showed only as drops after the first request."""
        import tempfile

        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".mlready-probe-", dir=self.dir)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ValueError(f"capture.directory: cannot write capture files to {self.dir} "
                             f"({exc.strerror or exc}): make it writable by the server's user, or set "
                             "serving.capture.directory") from None

    def write_encoded(self, lines: list[bytes]) -> None:
        f = self._file
        if f is not None:  # the common case: the whole batch fits the current file, one write
            text = b"".join(lines)
            if self._size + len(text) <= self.max_bytes:
                try:
                    _write_all(f, text)
                except OSError:
                    self._undo((self._path, self._size), [])
                    raise
                self._size += len(text)
                return
        self._write_lines(lines)

    def _write_lines(self, lines: list[bytes]) -> None:
        """A batch that starts a file (none open, or the current one too full for it): one write per file."""
        start = (self._path, self._size) if self._file is not None else None
        made: list[Path] = []  # the files this batch started
        chunk: list[bytes] = []
        pending = 0
        try:
            for line in each_line(lines):
                if self._file is not None and self._size + pending + len(line) > self.max_bytes and (
                        self._size + pending):
                    if chunk:
                        _write_all(self._file, b"".join(chunk))
                        self._size += pending
                        chunk, pending = [], 0
                    self._close()
                if self._file is None:
                    made.append(self._open())
                chunk.append(line)
                pending += len(line)
            if chunk:
                _write_all(self._file, b"".join(chunk))
                self._size += pending
        except OSError:
            self._undo(start, made)
            raise
        if made:  # the new files hold the batch: now the oldest beyond max_files go
            self._prune(keep=self.max_files)

    def _undo(self, start: tuple[Any, int] | None, made: list[Path]) -> None:
        """Take a failed batch back: delete the files it started, cut the file it began in (``start``: its path
        and size before the batch) back to that size; that file stays open when it still is, for the next batch
        to retry."""
        if self._file is not None and self._path in made:
            self._close()
        for path in made:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass
        if start is None:
            return
        path, size = start
        try:
            if self._file is not None and self._path == path:
                os.ftruncate(self._file.fileno(), size)
                self._size = size
            else:
                os.truncate(path, size)
        except OSError:
            self._close()

    def tick(self) -> None:
        """Close the current file once it is older than ``max_file_age_s`` (called by the writer when idle)."""
        if self._file is not None and time.monotonic() - self._opened >= self.max_age:
            self._close()

    def _open(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = self.dir / f"capture-{stamp}-{self.owner}-{self._seq:06d}.jsonl"
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - held open across batches, closed by _close
        self._path, self._size, self._opened = path, 0, time.monotonic()
        return path

    def _prune(self, keep: int) -> None:
        files = []
        for path in self.dir.glob("capture-*.jsonl"):
            try:
                files.append((path.stat().st_mtime_ns, path.name, path))
            except OSError:  # deleted meanwhile (another process pruning the shared directory)
                pass
        files.sort()
        for *_, old in files[: max(0, len(files) - keep)]:
            try:
                old.unlink(missing_ok=True)
            except OSError:
                pass

    def _close(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def close(self) -> None:
        self._close()


def _write_all(f: Any, data: bytes) -> None:
    """Write all of ``data`` to the raw file ``f`` (a write may take part of it: a disk filling up)."""
    done = f.write(data)
    if done < len(data):
        view = memoryview(data)
        while done < len(data):
            done += f.write(view[done:])


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
    ``application/cloudevents-batch+json``), each event's ``data`` a record. Any answer but 2xx (a redirect
    too), a refused connection or ``timeout_s`` passing fails the batch: ``timeout_s`` bounds the whole POST —
    connecting (and the TLS handshake), sending, reading the answer's status and its first 64 KB — not each
    socket operation (a collector trickling its answer a byte at a time cannot hold the writer longer). Proxies
    from the environment are ignored (the URL is the one the spec names)."""

    name = "http"

    def __init__(self, conf: CaptureConfig):
        assert conf.url is not None
        self.url, self.timeout = conf.url, conf.timeout_s
        self.source = f"/mlready/{os.uname().nodename}/{os.getpid()}"
        parts = urllib.parse.urlsplit(conf.url)
        import ssl  # only the http sink needs it (and only for https): not every server's start-up

        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._tls else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._head = (f"POST {target} HTTP/1.1\r\nHost: {parts.netloc.rpartition('@')[2]}\r\n"
                      f"Content-Type: {BATCH_CONTENT_TYPE}\r\nUser-Agent: mlready\r\nConnection: close\r\n"
                      "Content-Length: ")

    def write_encoded(self, lines: list[bytes]) -> None:
        """POST the records of ``lines`` as events: each line is an event's ``data`` as it is; its subject and
        time are read from the line's head (a record starts with its ``id`` and ``time`` — a feedback record then
        its ``kind``, which makes the event's type :data:`FEEDBACK_EVENT_TYPE` — then ``model``: a JSON string's
        escaped text never holds ``,"model":``)."""
        events = []
        for line in each_line(lines):
            head = orjson.loads(line[: line.index(b',"model":')] + b"}")
            kind = FEEDBACK_EVENT_TYPE if head.get("kind") == "feedback" else EVENT_TYPE
            events.append({"specversion": "1.0", "id": uuid.uuid4().hex, "source": self.source, "type": kind,
                           "subject": head["id"], "time": head["time"], "datacontenttype": "application/json",
                           "data": orjson.Fragment(line)})
        self._post(orjson.dumps(events, option=_DUMP))

    def _post(self, body: bytes) -> None:
        """One POST of ``body``, all of it within ``timeout_s``: every socket operation gets the time left."""
        import http.client

        deadline = time.monotonic() + self.timeout
        sock = socket.create_connection((self._host, self._port), timeout=_left(deadline))
        try:
            if self._tls is not None:
                sock.settimeout(_left(deadline))  # the handshake as a whole is bounded by the socket's timeout
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            view = memoryview(self._head.encode("ascii") + b"%d\r\n\r\n" % len(body) + body)
            while view:
                sock.settimeout(_left(deadline))
                view = view[sock.send(view[:262144]):]
            resp = http.client.HTTPResponse(_DeadlineSocket(sock, deadline), method="POST")  # type: ignore[arg-type]
            resp.begin()
            if not 200 <= resp.status < 300:
                raise OSError(f"the collector answered {resp.status}")
            resp.read(65536)
        except http.client.HTTPException as exc:  # a malformed answer
            raise OSError(f"the collector's answer is not HTTP: {exc!r}"[:300]) from None
        finally:
            sock.close()

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def _left(deadline: float) -> float:
    """The time left before ``deadline``; raises TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the collector did not answer within capture.timeout_s")
    return left


class _DeadlineSocket:
    """What :class:`http.client.HTTPResponse` reads the answer from: the socket, each read given the time left
    before the deadline (a socket's own timeout is per operation)."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock, self.deadline = sock, deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, deadline: float):
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.sock.settimeout(_left(self.deadline))
        return self.sock.recv_into(buffer)


def make_sink(conf: CaptureConfig) -> Any:
    return {"file": FileSink, "stdout": StdoutSink, "http": HttpSink}[conf.sink](conf)
