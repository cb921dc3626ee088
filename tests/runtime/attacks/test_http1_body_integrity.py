"""A request body that arrives cut short is never answered as if it were complete, and a body sent in countless
tiny chunks is refused before it costs the event loop seconds.

granian's RSGI body iterator does not raise when hyper's body stream fails (a malformed chunk line, a chunk
extension over hyper's limit, the connection closing before the last chunk or before Content-Length bytes): it
yields an empty chunk and then ends as if the body were complete (its ``await proto()`` raises instead). Each
body here is a valid JSON document up to the cut, so a server that took the prefix for the body would predict
on it (200). The adapter (runtime/http_transport.py) detects the failure and answers 400."""

from __future__ import annotations

import socket

import orjson
import pytest

from tests.runtime.attacks.http1client import Raw, request
from tests.runtime.conftest import start_server
from tests.support.prober import assert_serves

pytestmark = pytest.mark.server

PATH = "/v1/models/quickstart:predict"
CHUNKED = b"Transfer-Encoding: chunked\r\n"


@pytest.fixture(scope="module")
def srv(tmp_path_factory, model_repo):
    """One server for the module: none of these requests damages it (each test checks it still serves)."""
    server = start_server(tmp_path_factory.mktemp("integrity"), model_repo, http_limits={"body_timeout_s": 5.0})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def doc(breast_cancer_X) -> bytes:
    """A complete request body: a prefix of every truncated body below."""
    return orjson.dumps({"instances": breast_cancer_X[:2].tolist()})


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _ask(port: int, head: bytes, body: bytes, half_close: bool) -> tuple[int | None, bytes]:
    with Raw(port, timeout=8) as c:
        c.send(head + body)
        if half_close:  # the client is done sending, and still reads the answer
            c.sock.shutdown(socket.SHUT_WR)
        return c.response()


def _post(headers: bytes = b"", length: int | None = None) -> bytes:
    return request(PATH, "POST", headers=headers, length=length) if length is not None else (
        b"POST %s HTTP/1.1\r\nHost: mlready\r\n%s\r\n" % (PATH.encode(), headers))


@pytest.mark.parametrize("tail, half_close", [
    pytest.param(b"zz\r\n" + b" " * 16, False, id="invalid-chunk-size-line"),
    pytest.param(b"10;" + b"e" * 100_000 + b"\r\n" + b" " * 16 + b"\r\n0\r\n\r\n", False, id="huge-chunk-extension"),
    pytest.param(b"", True, id="half-close-before-last-chunk"),
    pytest.param(b"40\r\n" + b" " * 16, True, id="half-close-mid-chunk"),
])
def test_a_chunked_body_cut_short_is_refused(srv, doc, tail, half_close):
    status, body = _ask(srv.http_port, _post(CHUNKED), _chunk(doc) + tail, half_close)
    assert status == 400, (status, body[:200])
    assert b"predictions" not in body and b"chunked request body" in body, body
    assert_serves(srv)


@pytest.mark.parametrize("announced", [
    pytest.param(None, id="small-body"),  # read whole (await proto()): granian answered 500 for us before
    pytest.param(400_000, id="streamed-body"),  # over offload_bytes (256 KiB): streamed into the decode budget
])
def test_a_body_shorter_than_its_content_length_is_refused(srv, doc, announced):
    length = len(doc) + 100 if announced is None else announced
    status, body = _ask(srv.http_port, _post(length=length), doc, half_close=True)
    assert status == 400, (status, body[:200])
    assert b"ended before its Content-Length" in body and b"%d bytes" % length in body, body
    if announced is not None:  # streamed: the bytes that did arrive are known
        assert b"%d of %d bytes" % (len(doc), length) in body, body
    assert_serves(srv)


def test_trailer_fields_are_refused_a_known_limit(srv, doc):
    """granian reports a trailer section exactly as a failed body (an empty chunk before the end): refused,
    not guessed. If this starts answering 200, granian tells the two apart and runtime/README.md's limit can go."""
    status, body = _ask(srv.http_port, _post(CHUNKED), _chunk(doc) + b"0\r\nX-Checksum: 1\r\n\r\n", False)
    assert status == 400 and b"trailer" in body, (status, body[:200])


def test_tiny_chunks_are_refused(srv, doc):
    """8192 one-byte chunks (48 KiB on the wire): over 4096 chunks a body must average 1 KiB a chunk."""
    data = doc.ljust(8192, b" ")
    wire = b"".join(b"1\r\n%s\r\n" % data[i:i + 1] for i in range(len(data))) + b"0\r\n\r\n"
    status, body = _ask(srv.http_port, _post(CHUNKED), wire, False)
    assert status == 400, (status, body[:200])
    assert b"4096 chunks" in body and b"1024 bytes" in body, body
    assert_serves(srv)


@pytest.mark.parametrize("pieces", [3, 4000], ids=["3-chunks", "4000-small-chunks"])
def test_complete_chunked_bodies_are_served(srv, doc, pieces):
    """Honest chunked bodies, also a client writing many small chunks (up to 4096 of any size pass)."""
    data = doc.ljust(pieces * 4, b" ")
    step = -(-len(data) // pieces)
    wire = b"".join(_chunk(data[i:i + step]) for i in range(0, len(data), step)) + b"0\r\n\r\n"
    status, body = _ask(srv.http_port, _post(CHUNKED), wire, False)
    assert status == 200 and b"predictions" in body, (status, body[:200])


def test_complete_large_bodies_are_served(srv, doc):
    """A body over offload_bytes, streamed in as TCP delivers it, chunked or with a Content-Length."""
    data = doc.ljust(600_000, b" ")
    status, body = _ask(srv.http_port, _post(length=len(data)), data, False)
    assert status == 200 and b"predictions" in body, (status, body[:200])
    wire = b"".join(_chunk(data[i:i + 65536]) for i in range(0, len(data), 65536)) + b"0\r\n\r\n"
    status, body = _ask(srv.http_port, _post(CHUNKED), wire, False)
    assert status == 200 and b"predictions" in body, (status, body[:200])
