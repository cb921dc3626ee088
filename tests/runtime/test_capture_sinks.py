"""The capture sinks in-process, where they fail: the file sink on a full disk (simulated: a write past the free
space writes what fits, then fails with ENOSPC, as write(2) does) keeps whole lines only, counts as written only
what is on the disk, and never replaces the files kept with empty ones; the HTTP sink's ``timeout_s`` bounds a
whole POST, against a collector trickling its answer (a real local socket server)."""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlready.runtime import capture_sinks
from mlready.runtime.capture import Capture
from mlready.runtime.capture_sinks import FileSink, HttpSink, dumps
from mlready.runtime.config import CaptureConfig
from mlready.runtime.metrics import create_metrics

from tests.runtime.test_capture_records import answer, version


class Disk:
    """A disk of ``capacity`` bytes holding ``directory`` (what its files hold is what is used), patched in as
    the file sink's ``open``."""

    def __init__(self, directory: Path, capacity: int):
        self.dir, self.capacity = directory, capacity

    def used(self) -> int:
        return sum(p.stat().st_size for p in self.dir.iterdir()) if self.dir.exists() else 0

    def open(self, path: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        return _DiskFile(self, builtins.open(path, mode, buffering=0))


class _DiskFile:
    def __init__(self, disk: Disk, f: Any):
        self.disk, self.f = disk, f

    def write(self, data: Any) -> int:
        free = self.disk.capacity - self.disk.used()
        if free <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.f.write(bytes(data[:free]))  # a short write when it does not all fit

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self.f.fileno()

    def close(self) -> None:
        self.f.close()


def full_disk(monkeypatch: pytest.MonkeyPatch, directory: Path, capacity: int) -> Disk:
    disk = Disk(directory, capacity)
    monkeypatch.setattr(capture_sinks, "open", disk.open, raising=False)
    return disk


def batch(first: int, n: int, pad: int = 200) -> tuple[list[bytes], list[str]]:
    """``n`` records as the capture hands them over (one text of n lines), and their ids."""
    ids = [f"r{first + i}" for i in range(n)]
    text = b"".join(dumps({"id": rid, "time": "2026-01-01T00:00:00.000000Z", "model": "m", "pad": "x" * pad},
                          capture_sinks.LINE) for rid in ids)
    return [text], ids


def on_disk(directory: Path) -> tuple[list[str], list[Path]]:
    """The ids in the capture files (in the order written), and the files; every file holds whole lines."""
    files = sorted(directory.glob("capture-*.jsonl"))  # by time, then sequence number
    ids = []
    for f in files:
        data = f.read_bytes()
        assert data, f"{f.name} is empty"
        assert data.endswith(b"\n"), f"{f.name} ends mid-record: {data[-60:]!r}"
        ids += [json.loads(line)["id"] for line in data.splitlines()]
    return ids, files


def sink(directory: Path, **kw: Any) -> FileSink:
    return FileSink(CaptureConfig(enabled=True, directory=str(directory), **kw))


@pytest.mark.parametrize("max_file_bytes", [1_000_000, 4096])  # one file; a batch spanning files
def test_a_full_disk_leaves_whole_lines_and_only_what_was_counted(tmp_path, monkeypatch, max_file_bytes):
    """A batch is on the disk whole, or not at all (raised: the writer counts it dropped): no torn last line,
    no empty file, and the records on the disk are exactly those of the batches that did not raise. Once
    space is freed, the next batch goes on in the same file."""
    d = tmp_path / "cap"
    disk = full_disk(monkeypatch, d, capacity=60_000)
    s = sink(d, max_file_bytes=max_file_bytes)
    written, failed = [], 0
    for b in range(40):
        lines, ids = batch(b * 25, 25)  # ~6 KB a batch
        try:
            s.write_encoded(lines)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
            failed += 1
        else:
            written += ids
    assert written and failed > 20
    ids, files = on_disk(d)
    assert ids == written
    assert disk.used() <= disk.capacity
    disk.capacity = 10**9  # space freed
    lines, more = batch(10_000, 5)
    s.write_encoded(lines)
    s.close()
    ids, after = on_disk(d)
    assert ids == written + more
    if max_file_bytes > 100_000:  # retried in the same file: a failure does not rotate
        assert after == files


def test_a_full_disk_keeps_the_files_there_and_starts_no_empty_ones(tmp_path, monkeypatch):
    """Ten good files from before, a disk with room for a few batches: every failed batch used to start a new
    (empty) file, deleting the oldest file first. Now the old files stay, no empty file is left, and the records
    counted are on the disk."""
    d = tmp_path / "cap"
    d.mkdir()
    old = {}
    for i in range(10):
        path = d / f"capture-20000101T00000{i}Z-old-1-{i:06d}.jsonl"
        path.write_bytes(batch(i * 100, 10)[0][0])
        os.utime(path, ns=(10**18 + i, 10**18 + i))
        old[path] = path.read_bytes()
    disk = full_disk(monkeypatch, d, capacity=sum(map(len, old.values())) + 20_000)
    s = sink(d, max_file_bytes=8192, max_files=48)
    written = []
    for b in range(200):
        lines, ids = batch(10_000 + b * 10, 10)  # ~2.5 KB a batch
        try:
            s.write_encoded(lines)
        except OSError:
            continue
        written += ids
    s.close()
    assert written
    for path, data in old.items():
        assert path.read_bytes() == data, f"{path.name} was deleted or changed"
    ids, files = on_disk(d)  # every file holds whole lines, none is empty
    assert ids == [json.loads(line)["id"] for data in old.values() for line in data.splitlines()] + written
    assert len(files) <= 10 + 20_000 // 8192 + 1 and disk.used() <= disk.capacity


def test_old_files_are_deleted_for_a_new_one_only_once_it_holds_a_batch(tmp_path, monkeypatch):
    """max_files still holds, but failed batches delete nothing: the oldest files beyond max_files go once a new
    file holds its first batch."""
    d = tmp_path / "cap"
    d.mkdir()
    names = []
    for i in range(3):
        path = d / f"capture-20000101T00000{i}Z-old-1-{i:06d}.jsonl"
        path.write_bytes(batch(i, 1)[0][0])
        os.utime(path, ns=(10**18 + i, 10**18 + i))
        names.append(path.name)
    disk = full_disk(monkeypatch, d, capacity=0)
    s = sink(d, max_files=3)
    for b in range(5):
        with pytest.raises(OSError):
            s.write_encoded(batch(100 + b, 1)[0])
    assert sorted(p.name for p in d.iterdir()) == names  # nothing deleted, nothing left behind
    disk.capacity = 10**9
    s.write_encoded(batch(200, 1)[0])
    s.write_encoded(batch(201, 1)[0])
    s.close()
    left = sorted(p.name for p in d.iterdir())
    assert len(left) == 3 and left[:2] == names[1:]
    assert on_disk(d)[0] == ["r1", "r2", "r200", "r201"]


def test_the_capture_counts_as_written_what_is_on_the_full_disk(tmp_path, monkeypatch):
    """Through the capture's writer: mlready_capture_records_total is the records in the files, every other
    record is counted dropped (sink_error)."""
    d = tmp_path / "cap"
    full_disk(monkeypatch, d, capacity=20_000)
    conf = CaptureConfig(enabled=True, sink="file", directory=str(d), batch_size=10, flush_interval_s=3600,
                         max_file_bytes=8192, max_files=1000)
    metrics = create_metrics()
    cap = Capture(conf, metrics)
    rng = np.random.default_rng(3)
    a = version("a", ["no", "yes"])
    try:
        for i in range(300):
            cap.submit(f"q{i}", "v2-rest", a, {"X": rng.normal(size=(1, 5)).astype(np.float32)}, answer(a, 1, rng))
    finally:
        cap.close()
    ids, _ = on_disk(d)
    written = metrics.registry.get_sample_value("mlready_capture_records_total", {"sink": "file"})
    dropped = metrics.registry.get_sample_value("mlready_capture_dropped_total", {"reason": "sink_error"})
    assert 0 < len(ids) < 300
    assert (written, dropped) == (len(ids), 300 - len(ids))


# -- the HTTP sink ------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def collector(answer: bytes, every_s: float = 0.0) -> Iterator[tuple[str, list[bytes]]]:
    """A collector on a local socket: reads each request (headers, then Content-Length bytes of body), then
    sends ``answer`` a byte every ``every_s`` seconds (at once when 0), and keeps the connection open until the
    client closes it. Yields its URL and the request bodies received."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop, bodies = threading.Event(), []

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536) or b"\r\n\r\n"
        head, _, body = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)content-length: *(\d+)", head)
        length = int(m.group(1)) if m else 0
        while len(body) < length:
            body += conn.recv(65536)
        bodies.append(body)
        if every_s:
            for byte in answer:
                if stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(every_s)
        else:
            conn.sendall(answer)
        conn.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                if not conn.recv(1):
                    return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                handle(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/events?x=1", bodies
    finally:
        stop.set()
        thread.join(10)
        server.close()


def http_sink(url: str, timeout_s: float) -> HttpSink:
    return HttpSink(CaptureConfig(enabled=True, sink="http", url=url, timeout_s=timeout_s))


def test_http_timeout_bounds_the_whole_post_against_a_trickling_collector():
    """timeout_s 0.5 and a collector answering a byte every 0.1 s (~4 s for its answer): each read gets a byte
    in time, but the POST fails once 0.5 s have passed, not when the answer is complete."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
    with collector(answer, every_s=0.1) as (url, bodies):
        s = http_sink(url, 0.5)
        started = time.monotonic()
        with pytest.raises(OSError):
            s.write_encoded(batch(0, 3)[0])
        took = time.monotonic() - started
    assert len(bodies) == 1 and [e["subject"] for e in json.loads(bodies[0])] == ["r0", "r1", "r2"]
    assert took < 1.5, f"the POST took {took:.1f} s with timeout_s 0.5"


@pytest.mark.parametrize(("answer", "ok"), [
    (b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}", True),
    # chunked, the connection kept open: the answer's end is read, not waited for
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", True),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", True),
    (b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n", False),
    (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", False),
    (b"SSH-2.0-OpenSSH\r\n\r\n", False),
])
def test_http_answers(answer, ok):
    with collector(answer) as (url, bodies):
        s = http_sink(url, 5)
        started = time.monotonic()
        if ok:
            s.write_encoded(batch(0, 2)[0])
        else:
            with pytest.raises(OSError):
                s.write_encoded(batch(0, 2)[0])
        assert time.monotonic() - started < 2
    assert len(bodies) == 1 and len(json.loads(bodies[0])) == 2


@pytest.mark.parametrize("where", ["a-file", "/proc/mlready-capture"])
def test_a_directory_the_server_cannot_write_stops_it_at_startup_naming_the_key(tmp_path, where):
    """Found when the server starts (a ValueError: `cannot start`, exit 2), not as drops after the first request."""
    target = tmp_path / where if not where.startswith("/") else Path(where)
    if where == "a-file":
        target.write_text("")
    with pytest.raises(ValueError, match=r"^capture\.directory: cannot write capture files to .*serving\.capture"):
        FileSink(CaptureConfig(enabled=True, directory=str(target)))
    sink = FileSink(CaptureConfig(enabled=True, directory=str(tmp_path / "made" / "here")))  # made when missing
    assert sink.dir.is_dir() and not list(sink.dir.iterdir())  # the probe leaves nothing behind
